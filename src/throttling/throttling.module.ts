import { Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import { APP_CONFIG, AppConfig } from '@config';
import { isAuthAttempt } from './auth-attempt.decorator';

/**
 * HTTP rate limits per client address: a default one over all routes together, a strict one over
 * login and registration together. The guard is registered in AppModule, ahead of the auth guard.
 */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        throttlers: [
          { name: 'default', limit: config.throttle.limit, ttl: config.throttle.ttlMs },
          {
            name: 'auth',
            limit: config.throttle.authLimit,
            ttl: config.throttle.authTtlMs,
            skipIf: (context) => !isAuthAttempt(context),
          },
        ],
        // Per client, not per route: THROTTLE_LIMIT is what one client may send in all.
        generateKey: (_context, tracker, throttlerName) => `${throttlerName}:${tracker}`,
      }),
    }),
  ],
})
export class ThrottlingModule {}
