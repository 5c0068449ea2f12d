import { DynamicModule, Global, Module } from '@nestjs/common';
import { InProcessTransport } from './in-process.transport';
import { MessageBus } from './message-bus';
import { RedisTransport, RedisTransportOptions } from './redis.transport';

export interface BusModuleOptions {
  /** Redis pub/sub, every channel under `keyPrefix`; undefined: in-process only. */
  redis?: RedisTransportOptions;
}

export function createMessageBus(options: BusModuleOptions): MessageBus {
  return new MessageBus(
    options.redis ? new RedisTransport(options.redis) : new InProcessTransport(),
  );
}

/**
 * Provides the one MessageBus of the application to every module. It connects on module init
 * and quits its connections at application shutdown.
 */
@Global()
@Module({})
export class BusModule {
  static forRoot(options: BusModuleOptions): DynamicModule {
    return {
      module: BusModule,
      providers: [{ provide: MessageBus, useFactory: () => createMessageBus(options) }],
      exports: [MessageBus],
    };
  }
}
