import { Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import { APP_CONFIG, AppConfig } from '@config';
import { REDIS_CONNECTION, RedisConnection } from '@libs/redis';
import { MetricsService } from '@app/metrics/metrics.service';
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
      inject: [APP_CONFIG, REDIS_CONNECTION, MetricsService],
      useFactory: (config: AppConfig, redis: RedisConnection | null, metrics: MetricsService) => ({
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
        storage: trackedSize(
          metrics,
          redis ? new FailOpenThrottlerStorage(redis) : new FixedWindowThrottlerStorage(),
        ),
        // Per client, not per route: THROTTLE_LIMIT is what one client may send in all.
        generateKey: (_context, tracker, throttlerName) => `${throttlerName}:${tracker}`,
      }),
    }),
  ],
})
export class ThrottlingModule {}

/** The storage, its in-process windows reported as `switchboard_ws_registry_entries`. */
function trackedSize<T extends { size: number }>(metrics: MetricsService, storage: T): T {
  metrics.registryEntries('http_throttle_windows', () => storage.size);
  return storage;
}
