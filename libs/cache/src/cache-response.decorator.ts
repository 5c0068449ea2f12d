import { applyDecorators, SetMetadata, Type, UseInterceptors } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import { CACHE_RESPONSE_METADATA, CACHED_ROUTE_CONFIG } from './cache.constants';
import { HttpCacheInterceptor } from './http-cache.interceptor';

/** What a tag function sees of the request: route parameters and the parsed query. */
export interface CacheableRequest {
  params: Record<string, string>;
  query: Record<string, unknown>;
}

export interface CacheResponseOptions {
  /**
   * The tags of the answer: a write that invalidates any of them removes it, e.g. `room:<id>`.
   * `caller` is set on a `perCaller` route.
   */
  tags: (request: CacheableRequest, caller: string | undefined) => readonly string[];
  /** Overrides `CACHE_TTL_MS` for this route; 0 turns caching off. */
  ttlMs?: number;
  /** The answer depends on who asks: the caller becomes part of the key. */
  perCaller?: boolean;
}

/** Where a cached route's handler is, handed to Fastify as route config for `EarlyCacheHits`. */
export interface CachedRoute {
  controller: Type;
  handler: (...args: never[]) => unknown;
  options: CacheResponseOptions;
}

/**
 * Caches the JSON answer of a GET route, serialized once, and marks responses `X-Cache: HIT` or
 * `MISS`. Keyed by path, normalized query and (with `perCaller`) the caller.
 *
 * Access control for a cached route MUST be a guard (`@UseGuards()` or a global guard): guards
 * decide on every request, hit or miss — a hit is answered by `EarlyCacheHits` right after the
 * same guards ran, and a miss goes through Nest, guards first. A check inside the handler or a
 * service runs only on a miss and would let a cached answer reach a caller it would have
 * refused. That is the only supported way. The route must answer 200 with a JSON body (errors
 * are not cached), and the handler must not write to the response itself.
 */
export function CacheResponse(options: CacheResponseOptions): MethodDecorator {
  return applyDecorators(
    SetMetadata(CACHE_RESPONSE_METADATA, options),
    UseInterceptors(HttpCacheInterceptor),
    (target, _key, descriptor) => {
      const route: CachedRoute = {
        controller: target.constructor as Type,
        handler: descriptor.value as CachedRoute['handler'],
        options,
      };
      RouteConfig({ [CACHED_ROUTE_CONFIG]: route })(target, _key, descriptor);
    },
  );
}
