import { ConsoleModule } from '@app/console/console.module';
import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { AppConfig, ConfigModule } from '@config';
import { BusModule } from '@libs/bus';
import { CacheModule } from '@libs/cache';
import { RedisModule } from '@libs/redis';
import { AccessTokenGuard } from '@app/auth/access-token.guard';
import { AuthModule } from '@app/auth/auth.module';
import { AcceptDescriptors } from '@app/bootstrap/accept-descriptors';
import { HttpDrain } from '@app/bootstrap/http-drain';
import { cacheOptionsFrom, redisOptionsFrom } from '@app/bootstrap/library-options';
import { BusCacheInvalidationChannel } from '@app/cache/bus-cache-invalidation.channel';
import { GlobalExceptionFilter } from '@app/common/errors/global-exception.filter';
import { CompiledRequestSchemas } from '@app/common/validation/compiled-request-schemas';
import { ConsolePageModule } from '@app/console/console-page.module';
import { createValidationPipe } from '@app/common/validation/validation.pipe';
import { serializeLikeTheRoute } from '@app/openapi/compiled-responses';
import { DatabaseModule } from '@app/database/database.module';
import { HealthModule } from '@app/health/health.module';
import { LoggingModule } from '@app/logging/logging.module';
import { MetricsModule } from '@app/metrics/metrics.module';
import { AppThrottlerGuard } from '@app/throttling/app-throttler.guard';
import { RealtimeModule } from '@app/realtime/realtime.module';
import { MessagesModule } from '@app/messages/messages.module';
import { RoomsModule } from '@app/rooms/rooms.module';
import { ThrottlingModule } from '@app/throttling/throttling.module';
import { ThrottleBeforeParsing } from '@app/throttling/throttle-before-parsing';
import { UsersModule } from '@app/users/users.module';

/**
 * Every HTTP route's guards, in this order: rate limits first, so that floods of unauthenticated
 * requests are counted too. Cache hits answered early run the same list, read from Nest's own
 * registry (`EarlyCacheHits`).
 */
const GLOBAL_GUARDS = [AppThrottlerGuard, AccessTokenGuard];

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    // Filled from the OpenAPI document by createApp; the pipes of routes and cached queries share it.
    const requestSchemas = new CompiledRequestSchemas();
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule,
        MetricsModule,
        // One connection and one circuit breaker for the bus, cache, rate limits and presence.
        RedisModule.forRoot(redisOptionsFrom(config)),
        BusModule,
        DatabaseModule,
        ThrottlingModule,
        // Invalidations reach the other instances over the bus (Redis pub/sub with REDIS_URL).
        // BusModule is global: the invalidation channel finds the MessageBus without importing it.
        CacheModule.forRoot({
          ...cacheOptionsFrom(config),
          invalidationChannel: BusCacheInvalidationChannel,
          // Hits answered early run the guards Nest runs, taken from Nest's registry.
          earlyHits: { exceptionFilter: GlobalExceptionFilter },
          // Cached routes validate their query before the cache answers, as the handler would.
          queryPipe: createValidationPipe(requestSchemas),
          // A miss stores what the route sends: the route's compiled response serializer.
          serializeAnswer: serializeLikeTheRoute,
        }),
        AuthModule,
        UsersModule,
        RoomsModule,
        MessagesModule,
        HealthModule,
        RealtimeModule,
        ConsoleModule,
        ConsolePageModule,
      ],
      providers: [
        AppThrottlerGuard,
        ...GLOBAL_GUARDS.map((guard) => ({ provide: APP_GUARD, useExisting: guard })),
        { provide: CompiledRequestSchemas, useValue: requestSchemas },
        { provide: APP_PIPE, useFactory: () => createValidationPipe(requestSchemas) },
        GlobalExceptionFilter,
        { provide: APP_FILTER, useExisting: GlobalExceptionFilter },
        ThrottleBeforeParsing,
        AcceptDescriptors,
        HttpDrain,
      ],
    };
  }
}
