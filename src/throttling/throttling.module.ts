import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { APP_CONFIG, AppConfig } from '@config';
import { AppThrottlerGuard } from './app-throttler.guard';
import { isAuthAttempt } from './auth-attempt.decorator';

/** HTTP rate limits per client address: a default one on every route, a strict one on logins. */
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
      }),
    }),
  ],
  providers: [{ provide: APP_GUARD, useClass: AppThrottlerGuard }],
})
export class ThrottlingModule {}
