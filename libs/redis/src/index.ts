export * from './loop-time-deadlines';
export * from './redis-connection';
export * from './redis-unavailable.error';
export * from './redis.module';
