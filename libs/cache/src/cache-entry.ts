import type { CacheableRequest, CacheResponseOptions } from './cache-response.decorator';
import type { CacheOptions } from './cache-options';

/** For how long, and for whom, a GET request of a cached route is cached. */
export interface CacheTarget {
  ttlMs: number;
  /** Part of the key when the route is `perCaller`. */
  caller?: string;
}

/** Whether the route caches at all (`CACHE_TTL_MS=0`, or its own `ttlMs: 0`, turn it off). */
export function cachingOn(
  route: CacheResponseOptions,
  options: Pick<CacheOptions, 'defaultTtlMs'>,
): boolean {
  return (route.ttlMs ?? options.defaultTtlMs) > 0;
}

/**
 * Whether this request of a cached route is cached: undefined when caching is off for the route,
 * or when a per-caller route has no caller. Shared by the interceptor (misses) and
 * `EarlyCacheHits` (hits), so that they agree.
 */
export function cacheTargetOf(
  route: CacheResponseOptions,
  request: CacheableRequest,
  options: Pick<CacheOptions, 'defaultTtlMs' | 'callerOf'>,
): CacheTarget | undefined {
  const caller = route.perCaller ? options.callerOf(request) : undefined;
  if (!cachingOn(route, options) || (route.perCaller && caller === undefined)) {
    return undefined;
  }
  return { ttlMs: route.ttlMs ?? options.defaultTtlMs, caller };
}

/** The route's template on Fastify (`/api/rooms/:id`); elsewhere the path, which is as unique. */
export function routeTemplateOf(request: unknown, url: string): string {
  const template = (request as { routeOptions?: { url?: string } }).routeOptions?.url;
  return template ?? url.split('?')[0];
}
