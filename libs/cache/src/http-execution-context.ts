import type { ContextType, ExecutionContext, Type } from '@nestjs/common';
import type {
  HttpArgumentsHost,
  RpcArgumentsHost,
  WsArgumentsHost,
} from '@nestjs/common/interfaces';

/**
 * What a guard or an exception filter is handed for an HTTP request of `handler` in `controller`,
 * as Nest builds it for its routes: the arguments are `[request, reply]`. The public
 * `ExecutionContext` interface, so that the early cache-hit path needs nothing internal to Nest.
 */
export class HttpExecutionContext implements ExecutionContext {
  constructor(
    private readonly args: unknown[],
    private readonly controller: Type,
    private readonly handler: (...args: never[]) => unknown,
  ) {}

  getType<T extends string = ContextType>(): T {
    return 'http' as T;
  }

  getClass<T = unknown>(): Type<T> {
    return this.controller as Type<T>;
  }

  getHandler(): (...args: never[]) => unknown {
    return this.handler;
  }

  getArgs<T extends unknown[] = unknown[]>(): T {
    return this.args as T;
  }

  getArgByIndex<T = unknown>(index: number): T {
    return this.args[index] as T;
  }

  switchToHttp(): HttpArgumentsHost {
    return {
      getRequest: <T>() => this.args[0] as T,
      getResponse: <T>() => this.args[1] as T,
      getNext: <T>() => this.args[2] as T,
    };
  }

  switchToRpc(): RpcArgumentsHost {
    return {
      getData: <T>() => this.args[0] as T,
      getContext: <T>() => this.args[1] as T,
    };
  }

  switchToWs(): WsArgumentsHost {
    return {
      getClient: <T>() => this.args[0] as T,
      getData: <T>() => this.args[1] as T,
      getPattern: () => this.args[this.args.length - 1] as string,
    };
  }
}
