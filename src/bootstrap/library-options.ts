import { AppConfig } from '@config';
import type { BusModuleOptions } from '@libs/bus';
import type { CacheModuleOptions } from '@libs/cache';

// The libraries know nothing of the app's configuration; this is where it becomes their options.

/** Redis pub/sub when REDIS_URL is set, in-process otherwise. */
export function busOptionsFrom(config: AppConfig): BusModuleOptions {
  const { url, keyPrefix } = config.redis;
  return { redis: url ? { url, keyPrefix } : undefined };
}

/** CACHE_TTL_MS, and the Redis tier when REDIS_URL is set. */
export function cacheOptionsFrom(
  config: AppConfig,
): Pick<CacheModuleOptions, 'defaultTtlMs' | 'redis'> {
  const { url, keyPrefix } = config.redis;
  return { defaultTtlMs: config.cache.ttlMs, redis: url ? { url, keyPrefix } : undefined };
}
