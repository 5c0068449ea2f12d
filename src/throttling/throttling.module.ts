import { Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import { APP_CONFIG, AppConfig } from '@config';
import { REDIS_CONNECTION, RedisConnection } from '@libs/redis';
import { isAuthAttempt } from './auth-attempt.decorator';
import { FailOpenThrottlerStorage } from './fail-open-throttler.storage';
import { FixedWindowThrottlerStorage } from './fixed-window-throttler.storage';

/**
 * HTTP rate limits per client address (counted in Redis when REDIS_URL is set): a default one over all routes together, a strict one over
 * login and registration together. The guard is registered in AppModule, ahead of the auth guard.
 */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [APP_CONFIG, REDIS_CONNECTION],
      useFactory: (config: AppConfig, redis: RedisConnection | null) => ({
        throttlers: [
          { name: 'default', limit: config.throttle.limit, ttl: config.throttle.ttlMs },
          {
            name: 'auth',
            limit: config.throttle.authLimit,
            ttl: config.throttle.authTtlMs,
            skipIf: (context) => !isAuthAttempt(context),
          },
        ],
        // With Redis, one count for the whole fleet: 600/min means 600/min, not 600 per instance.
        storage: redis ? new FailOpenThrottlerStorage(redis) : new FixedWindowThrottlerStorage(),
        // Per client, not per route: THROTTLE_LIMIT is what one client may send in all.
        generateKey: (_context, tracker, throttlerName) => `${throttlerName}:${tracker}`,
      }),
    }),
  ],
})
export class ThrottlingModule {}
