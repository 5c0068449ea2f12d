export * from './bus-message';
export * from './bus-transport';
export * from './bus-unavailable.error';
export * from './bus.module';
export * from './in-process.transport';
export * from './message-bus';
export * from './redis.transport';
