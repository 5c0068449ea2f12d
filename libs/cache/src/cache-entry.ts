import { HttpServer } from '@nestjs/common';
import { buildCacheKey } from './cache-key';
import type { CacheableRequest, CacheResponseOptions } from './cache-response.decorator';
import type { CacheOptions } from './cache-options';
import type { CacheEntryOptions } from './cache.service';

/**
 * The key and lifetime of the entry a GET request of a cached route reads and fills, or undefined
 * when this request is not cached (caching off for the route, or a per-caller route without a
 * caller). The one place both the interceptor (misses) and `EarlyCacheHits` (hits) take keys
 * from, so they agree.
 */
export function cacheEntryFor(
  route: CacheResponseOptions,
  request: CacheableRequest,
  httpAdapter: Required<Pick<HttpServer, 'getRequestUrl'>>,
  options: Pick<CacheOptions, 'defaultTtlMs' | 'callerOf'>,
): Omit<CacheEntryOptions, 'tags'> | undefined {
  const ttlMs = route.ttlMs ?? options.defaultTtlMs;
  const caller = route.perCaller ? options.callerOf(request) : undefined;
  if (!(ttlMs > 0) || (route.perCaller && caller === undefined)) {
    return undefined;
  }
  return {
    key: buildCacheKey(httpAdapter.getRequestUrl(request), caller),
    ttlMs,
  };
}
