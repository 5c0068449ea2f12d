import { ArgumentMetadata, ExceptionFilter, PipeTransform, Type } from '@nestjs/common';
import {
  EXCEPTION_FILTERS_METADATA,
  GUARDS_METADATA,
  INTERCEPTORS_METADATA,
  PIPES_METADATA,
} from '@nestjs/common/constants';
import { MetadataScanner } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import {
  MESSAGE_MAPPING_METADATA,
  MESSAGE_METADATA,
  PARAM_ARGS_METADATA,
} from '@nestjs/websockets/constants';
import { WsParamtype } from '@nestjs/websockets/enums/ws-paramtype.enum';
import type { RealtimeConnection } from './realtime-connection';

/** What a handler may answer: a frame for the sender, or nothing. */
export interface FrameAnswer {
  event: string;
  data: unknown;
}

/** A frame's payload and `ref`. */
export interface Frame {
  data: unknown;
  ref: string | undefined;
}

type GatewayHandler = (
  frame: unknown,
  connection: RealtimeConnection,
) => FrameAnswer | undefined | Promise<FrameAnswer | undefined>;

interface FrameRoute {
  handler: GatewayHandler;
  payload: ArgumentMetadata;
}

/**
 * A gateway's `@SubscribeMessage()` handlers, called directly: the frame's payload through the
 * gateway's `@UsePipes()` pipe, then the method with the checked frame and the connection, and
 * a failure to the gateway's `@UseFilters()` filter. That is what Nest's per-frame pipeline does
 * for such a gateway, without what it adds to every frame: an execution context and parameter
 * look-ups per call, an RxJS chain around the answer, and no way to hand the connection to a
 * handler bound once for all connections (the adapter binds them once, see RealtimeWsAdapter),
 * which would otherwise need an AsyncLocalStorage, whose promise hooks every promise of the
 * process then pays.
 *
 * The decorators stay the source of truth: they are read here, and the start fails where the
 * gateway asks for something this does not run (guards, interceptors, a parameter other than
 * `@MessageBody()` first and `@ConnectedSocket()` second, pipes or filters per method).
 * The filter's `ArgumentsHost` holds `[connection, payload, ref]`.
 */
export class FrameRoutes {
  private readonly routes = new Map<string, FrameRoute>();
  private readonly pipe: PipeTransform;
  private readonly filter: ExceptionFilter;

  constructor(gateway: object) {
    const type = gateway.constructor as Type;
    this.pipe = onlyOne<PipeTransform>(type, PIPES_METADATA, 'pipe');
    const filterType = onlyOne<Type<ExceptionFilter> | ExceptionFilter>(
      type,
      EXCEPTION_FILTERS_METADATA,
      'exception filter',
    );
    this.filter = typeof filterType === 'function' ? new filterType() : filterType;
    refuseEnhancers(type, type.name);
    const prototype = type.prototype as Record<string, GatewayHandler>;
    for (const name of new MetadataScanner().getAllMethodNames(prototype)) {
      const method = prototype[name];
      if (!Reflect.getMetadata(MESSAGE_MAPPING_METADATA, method)) {
        continue;
      }
      const where = `${type.name}.${name}`;
      refuseEnhancers(method, where);
      for (const key of [PIPES_METADATA, EXCEPTION_FILTERS_METADATA]) {
        if (((Reflect.getMetadata(key, method) as unknown[] | undefined) ?? []).length > 0) {
          throw new Error(`FrameRoutes: ${where} has ${key} of its own; give them to the gateway`);
        }
      }
      this.routes.set(Reflect.getMetadata(MESSAGE_METADATA, method) as string, {
        handler: method.bind(gateway),
        payload: payloadOf(type, name, where),
      });
    }
  }

  get events(): string[] {
    return [...this.routes.keys()];
  }

  has(event: string): boolean {
    return this.routes.has(event);
  }

  /**
   * Runs the event's handler for `frame` on `connection`: resolves with its answer, or with
   * nothing once the filter has answered a failure. Rejects only when the filter itself failed.
   */
  async handle(
    event: string,
    frame: Frame,
    connection: RealtimeConnection,
  ): Promise<FrameAnswer | undefined> {
    const route = this.routes.get(event);
    if (!route) {
      throw new Error(`No handler for "${event}"`);
    }
    try {
      return await route.handler(
        await this.pipe.transform(frame.data ?? {}, route.payload),
        connection,
      );
    } catch (error) {
      const host = new ExecutionContextHost([connection, frame.data, frame.ref]);
      host.setType('ws');
      this.filter.catch(error, host);
      return undefined;
    }
  }
}

function onlyOne<T>(type: Type, key: string, what: string): T {
  const values = (Reflect.getMetadata(key, type) as T[] | undefined) ?? [];
  if (values.length !== 1) {
    throw new Error(`FrameRoutes: ${type.name} needs exactly one ${what}, has ${values.length}`);
  }
  return values[0];
}

function refuseEnhancers(target: object, where: string): void {
  for (const key of [GUARDS_METADATA, INTERCEPTORS_METADATA]) {
    if (((Reflect.getMetadata(key, target) as unknown[] | undefined) ?? []).length > 0) {
      throw new Error(`FrameRoutes: ${where} has ${key}, which frames do not run`);
    }
  }
}

/** The `@MessageBody()` of parameter 0, as Nest hands it to pipes. */
function payloadOf(type: Type, name: string, where: string): ArgumentMetadata {
  const parameters = (Reflect.getMetadata(PARAM_ARGS_METADATA, type, name) ?? {}) as Record<
    string,
    { index: number; data?: unknown; pipes?: unknown[] }
  >;
  // Nest's keys are `${paramtype}:${index}`.
  const expected = new Set([`${WsParamtype.PAYLOAD}:0`, `${WsParamtype.SOCKET}:1`]);
  for (const [key, parameter] of Object.entries(parameters)) {
    if (!expected.has(key) || parameter.data !== undefined || (parameter.pipes ?? []).length > 0) {
      throw new Error(
        `FrameRoutes: ${where} takes (@MessageBody() frame, @ConnectedSocket() connection), nothing else`,
      );
    }
  }
  const types = Reflect.getMetadata('design:paramtypes', type.prototype as object, name) as Type[];
  return {
    type: WsParamtype.PAYLOAD as unknown as ArgumentMetadata['type'],
    metatype: types[0],
    data: undefined,
  };
}
