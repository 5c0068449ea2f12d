export * from './redis-connection';
export * from './redis-unavailable.error';
export * from './redis.module';
