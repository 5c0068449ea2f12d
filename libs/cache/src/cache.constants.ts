/** Route metadata written by `@CacheResponse()` and read by `HttpCacheInterceptor`. */
export const CACHE_RESPONSE_METADATA = 'switchboard:cacheResponse';

/** Injection token of the resolved `CacheOptions`. */
export const CACHE_OPTIONS = Symbol('CACHE_OPTIONS');

/** Injection token of the shared (Redis) tier: a `SharedCacheTier`, or null without `REDIS_URL`. */
export const SHARED_CACHE_TIER = Symbol('SHARED_CACHE_TIER');

/** The response header that says whether the cache answered. */
export const CACHE_STATUS_HEADER = 'X-Cache';

/** The Fastify route-config key under which a cached route is described (`CachedRoute`). */
export const CACHED_ROUTE_CONFIG = 'switchboard:cachedRoute';
