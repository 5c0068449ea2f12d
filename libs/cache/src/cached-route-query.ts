import { Inject, Injectable, PipeTransform, Type } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { CACHE_OPTIONS } from './cache.constants';
import type { CacheOptions } from './cache-options';

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

type Handler = (...args: never[]) => unknown;

/**
 * The validated query of a request to a cached route, which its cache key is built from: the
 * interceptor (misses) and `EarlyCacheHits` (hits) both ask here, so they build one key. The
 * validated form of an empty query (the route's defaults) is the same for every request, so it
 * is worked out once per route instead of once per request.
 */
@Injectable()
export class CachedRouteQueries {
  private readonly queryTypes = new WeakMap<Handler, Type>();
  private readonly emptyQueries = new Map<Type, Promise<Record<string, unknown>>>();

  constructor(@Inject(CACHE_OPTIONS) private readonly options: Pick<CacheOptions, 'queryPipe'>) {}

  /** Refused (the pipe's 400) when the route would refuse the query. */
  validated(controller: Type, handler: Handler, query: unknown): Promise<Record<string, unknown>> {
    const queryType = this.queryTypeOf(controller, handler);
    if (!isEmpty(query)) {
      return validateCachedQuery(this.options.queryPipe, queryType, query);
    }
    let validated = this.emptyQueries.get(queryType);
    if (!validated) {
      validated = validateCachedQuery(this.options.queryPipe, queryType, {});
      // A refusal is not kept: the next request asks the pipe again.
      validated.catch(() => this.emptyQueries.delete(queryType));
      this.emptyQueries.set(queryType, validated);
    }
    return validated;
  }

  private queryTypeOf(controller: Type, handler: Handler): Type {
    let queryType = this.queryTypes.get(handler);
    if (!queryType) {
      queryType = queryTypeOf(controller, handler);
      this.queryTypes.set(handler, queryType);
    }
    return queryType;
  }
}

function isEmpty(query: unknown): boolean {
  if (query === undefined || query === null) {
    return true;
  }
  for (const _name in query) {
    return false;
  }
  return true;
}
