import { CACHE_MANAGER } from '@nestjs/cache-manager';
import { DynamicModule, Global, Module } from '@nestjs/common';
import { createCache } from 'cache-manager';
import { REDIS_CONNECTION, RedisConnection } from '@libs/redis';
import {
  CacheInvalidationChannel,
  InProcessCacheInvalidationChannel,
} from './cache-invalidation.channel';
import { CacheMetrics } from './cache-metrics';
import { CACHE_OPTIONS, SHARED_CACHE_TIER } from './cache.constants';
import { CacheModuleOptions, CacheOptions, resolveCacheOptions } from './cache-options';
import { CacheService } from './cache.service';
import { CachedRouteQueries } from './cached-route-query';
import { EARLY_CACHE_HITS_OPTIONS, EarlyCacheHits } from './early-cache-hits';
import { HttpCacheInterceptor } from './http-cache.interceptor';
import { createMemoryKeyv } from './lru-keyv.store';
import { MemoryCacheTier } from './memory-cache.tier';
import { RedisCacheTier } from './redis-cache.tier';

/**
 * Response caching: the in-process tier, the Redis tier when the application has a Redis
 * connection (`RedisModule`), tag invalidation across instances, and `@CacheResponse()` routes.
 * Global, so that any feature module can mark routes and call `CacheService.invalidateTags()`.
 *
 * `CACHE_MANAGER` (cache-manager over stores of its own, in process and on the same Redis
 * connection) is there for plain values that may live out their TTL; it knows nothing of tags, so
 * it is not for answers a write changes, and it cannot reach the tagged entries.
 */
@Global()
@Module({})
export class CacheModule {
  static forRoot(options: CacheModuleOptions): DynamicModule {
    return {
      module: CacheModule,
      imports: options.imports ?? [],
      providers: [
        {
          provide: CACHE_OPTIONS,
          useFactory: () => resolveCacheOptions(options),
        },
        CacheMetrics,
        {
          provide: MemoryCacheTier,
          inject: [CACHE_OPTIONS, CacheMetrics, { token: REDIS_CONNECTION, optional: true }],
          useFactory: (
            resolved: CacheOptions,
            metrics: CacheMetrics,
            connection: RedisConnection | undefined,
          ) =>
            new MemoryCacheTier(
              { ...resolved.memory, maxTtlMs: connection ? resolved.memory.frontTtlMs : undefined },
              metrics,
            ),
        },
        {
          provide: SHARED_CACHE_TIER,
          inject: [{ token: REDIS_CONNECTION, optional: true }, CacheMetrics],
          useFactory: (connection: RedisConnection | undefined, metrics: CacheMetrics) =>
            connection ? new RedisCacheTier(connection, metrics) : null,
        },
        {
          provide: CacheInvalidationChannel,
          useClass: options.invalidationChannel ?? InProcessCacheInvalidationChannel,
        },
        {
          provide: CACHE_MANAGER,
          // Stores of its own: an LRU and, with Redis, keys under `cache:kv:` on the one
          // connection, apart from the tagged tiers (a plain `set` must not reach those).
          inject: [CACHE_OPTIONS, SHARED_CACHE_TIER],
          useFactory: (resolved: CacheOptions, shared: RedisCacheTier | null) => {
            const memory = createMemoryKeyv(resolved.memory);
            return createCache({
              stores: shared ? [memory, shared.keyv] : [memory],
              ttl: resolved.defaultTtlMs,
            });
          },
        },
        CacheService,
        CachedRouteQueries,
        HttpCacheInterceptor,
        ...(options.earlyHits
          ? [{ provide: EARLY_CACHE_HITS_OPTIONS, useValue: options.earlyHits }, EarlyCacheHits]
          : []),
      ],
      exports: [
        CacheService,
        CacheMetrics,
        CachedRouteQueries,
        HttpCacheInterceptor,
        CACHE_OPTIONS,
        CACHE_MANAGER,
      ],
    };
  }
}
