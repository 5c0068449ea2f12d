import { Global, Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@config';
import { InProcessTransport } from './in-process.transport';
import { MessageBus } from './message-bus';
import { RedisTransport } from './redis.transport';

/** In-process unless REDIS_URL is set; then Redis pub/sub, every channel under REDIS_KEY_PREFIX. */
export function createMessageBus(config: AppConfig): MessageBus {
  const { url, keyPrefix } = config.redis;
  return new MessageBus(url ? new RedisTransport({ url, keyPrefix }) : new InProcessTransport());
}

/**
 * Provides the one MessageBus of the application to every module. It connects on module init
 * and quits its connections at application shutdown.
 */
@Global()
@Module({
  providers: [{ provide: MessageBus, inject: [APP_CONFIG], useFactory: createMessageBus }],
  exports: [MessageBus],
})
export class BusModule {}
