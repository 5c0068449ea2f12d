import { PipeTransform, Type } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';

/** The query of a route that declares none: with unknown fields forbidden, any parameter is a 400. */
export class NoQuery {}

interface RouteArgument {
  index: number;
  data?: unknown;
}

/**
 * The DTO class of a handler's whole-query argument (`@Query() query: PageQueryDto`), read from
 * the metadata Nest's decorators leave, or `NoQuery` when it declares none.
 */
export function queryTypeOf(controller: Type, handler: (...args: never[]) => unknown): Type {
  const routeArguments = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, handler.name) ??
    {}) as Record<string, RouteArgument>;
  const parameterTypes = (Reflect.getMetadata(
    'design:paramtypes',
    controller.prototype as object,
    handler.name,
  ) ?? []) as Type[];
  const query = Object.entries(routeArguments).find(
    ([key, argument]) =>
      key.split(':')[0] === String(RouteParamtypes.QUERY) && argument.data === undefined,
  );
  return (query && parameterTypes[query[1].index]) || NoQuery;
}

/** The query as the route's validation pipe makes it: refused (400) when it has unknown names. */
export async function validateCachedQuery(
  pipe: PipeTransform,
  queryType: Type,
  query: unknown,
): Promise<Record<string, unknown>> {
  return (await pipe.transform(query ?? {}, {
    type: 'query',
    metatype: queryType,
    data: undefined,
  })) as Record<string, unknown>;
}
