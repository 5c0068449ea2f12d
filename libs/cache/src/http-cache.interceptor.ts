import { CallHandler, ExecutionContext, Inject, Injectable, NestInterceptor } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import { defer, lastValueFrom, map, Observable } from 'rxjs';
import { cacheTargetOf, routeTemplateOf } from './cache-entry';
import { buildCacheKey } from './cache-key';
import { CachedRouteQueries } from './cached-route-query';
import type { CacheableRequest, CacheResponseOptions } from './cache-response.decorator';
import { CACHE_OPTIONS, CACHE_RESPONSE_METADATA, CACHE_STATUS_HEADER } from './cache.constants';
import { CacheOptions } from './cache-options';
import { CacheService } from './cache.service';

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/**
 * Serves GET routes marked `@CacheResponse()` from the cache. Works on any HTTP platform (the
 * adapter reads the request and writes the headers). What is cached is the serialized body, so
 * a hit sends a stored string and serializes nothing. Runs after the guards: see
 * `@CacheResponse()` for why access checks must be guards. On Fastify, `EarlyCacheHits` answers
 * in-process hits before Nest's routing; what reaches this interceptor there is a miss (or a
 * Redis-tier hit).
 */
@Injectable()
export class HttpCacheInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly adapterHost: HttpAdapterHost,
    private readonly cache: CacheService,
    @Inject(CACHE_OPTIONS)
    private readonly options: Pick<CacheOptions, 'defaultTtlMs' | 'callerOf' | 'serializeAnswer'>,
    private readonly queries: CachedRouteQueries,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const route = this.reflector.get<CacheResponseOptions | undefined>(
      CACHE_RESPONSE_METADATA,
      context.getHandler(),
    );
    if (!route || context.getType() !== 'http') {
      return next.handle();
    }
    const { httpAdapter } = this.adapterHost;
    const http = context.switchToHttp();
    const request = http.getRequest<CacheableRequest>();
    const response: unknown = http.getResponse();
    if (httpAdapter.getRequestMethod(request) !== 'GET') {
      return next.handle();
    }
    // Also what an error answer carries; a hit overwrites it.
    httpAdapter.setHeader(response, CACHE_STATUS_HEADER, 'MISS');
    const target = cacheTargetOf(route, request, this.options);
    if (!target) {
      return next.handle();
    }
    const routeTemplate = routeTemplateOf(request, httpAdapter.getRequestUrl(request) as string);
    return defer(async () => {
      // A query the route would refuse (unknown names, bad values) is a 400 before the cache.
      const query = await this.queries.validated(
        context.getClass(),
        context.getHandler() as (...args: never[]) => unknown,
        request.query,
      );
      const entry = {
        key: buildCacheKey(routeTemplate, request.params, query, target.caller),
        tags: route.tags(request, target.caller),
        ttlMs: target.ttlMs,
      };
      return this.cache.getOrLoad(entry, () =>
        serializedAnswer(next, (answer) => this.options.serializeAnswer(answer, response)),
      );
    }).pipe(
      map(({ value, source }) => {
        if (source === 'memory' || source === 'redis') {
          httpAdapter.setHeader(response, CACHE_STATUS_HEADER, 'HIT');
        }
        if (value !== undefined) {
          httpAdapter.setHeader(response, 'Content-Type', JSON_CONTENT_TYPE);
        }
        return value;
      }),
    );
  }
}

/** The handler's answer as the JSON text the client receives. */
async function serializedAnswer(
  next: CallHandler,
  serialize: (answer: unknown) => string,
): Promise<string | undefined> {
  const answer: unknown = await lastValueFrom(next.handle(), { defaultValue: undefined });
  return answer === undefined ? undefined : serialize(answer);
}
