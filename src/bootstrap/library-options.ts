import { AppConfig } from '@config';
import type { CacheModuleOptions } from '@libs/cache';
import type { RedisConnectionOptions } from '@libs/redis';

// The libraries know nothing of the app's configuration; this is where it becomes their options.

/**
 * The one Redis connection (bus, cache, rate limits, presence) when REDIS_URL or
 * REDIS_CLUSTER_NODES is set.
 */
export function redisOptionsFrom(config: AppConfig): RedisConnectionOptions | undefined {
  const { url, clusterNodes, keyPrefix } = config.redis;
  if (clusterNodes) {
    return { clusterNodes, keyPrefix };
  }
  return url ? { url, keyPrefix } : undefined;
}

/** CACHE_TTL_MS; the Redis tier is on when RedisModule has a connection. */
export function cacheOptionsFrom(config: AppConfig): Pick<CacheModuleOptions, 'defaultTtlMs'> {
  return { defaultTtlMs: config.cache.ttlMs };
}
