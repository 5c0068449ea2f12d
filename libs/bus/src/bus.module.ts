import { Global, Module } from '@nestjs/common';
import { REDIS_CONNECTION, RedisConnection } from '@libs/redis';
import { InProcessTransport } from './in-process.transport';
import { MessageBus } from './message-bus';
import { RedisTransport } from './redis.transport';

/** In-process without the application's Redis connection; with it, Redis pub/sub. */
export function createMessageBus(connection?: RedisConnection | null): MessageBus {
  return new MessageBus(connection ? new RedisTransport({ connection }) : new InProcessTransport());
}

/**
 * Provides the one MessageBus of the application to every module. It connects on module init
 * and closes its subscriber at application shutdown. On Redis when `RedisModule` provides a
 * connection.
 */
@Global()
@Module({
  providers: [
    {
      provide: MessageBus,
      inject: [{ token: REDIS_CONNECTION, optional: true }],
      useFactory: createMessageBus,
    },
  ],
  exports: [MessageBus],
})
export class BusModule {}
