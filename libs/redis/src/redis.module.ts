import { DynamicModule, Global, Module } from '@nestjs/common';
import { RedisConnection, RedisConnectionOptions } from './redis-connection';

/** Injection token of the application's `RedisConnection`, or null when it runs without Redis. */
export const REDIS_CONNECTION = Symbol('REDIS_CONNECTION');

/**
 * The one Redis connection of the application, for every module (global). Connects on module
 * init; closes at application shutdown, after the HTTP server has drained.
 */
@Global()
@Module({})
export class RedisModule {
  /** `undefined`: no Redis; `REDIS_CONNECTION` is then null and every feature stays in-process. */
  static forRoot(options: RedisConnectionOptions | undefined): DynamicModule {
    return {
      module: RedisModule,
      providers: [
        {
          provide: REDIS_CONNECTION,
          useFactory: () => (options ? new RedisConnection(options) : null),
        },
      ],
      exports: [REDIS_CONNECTION],
    };
  }
}
