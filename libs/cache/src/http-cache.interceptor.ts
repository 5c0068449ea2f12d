import { CallHandler, ExecutionContext, Inject, Injectable, NestInterceptor } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import { defer, lastValueFrom, map, Observable } from 'rxjs';
import { buildCacheKey } from './cache-key';
import { queryTypeOf, validateCachedQuery } from './cached-route-query';
import type { CacheableRequest, CacheResponseOptions } from './cache-response.decorator';
import { CACHE_OPTIONS, CACHE_RESPONSE_METADATA, CACHE_STATUS_HEADER } from './cache.constants';
import { CacheOptions } from './cache-options';
import { CacheService } from './cache.service';

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/**
 * Serves GET routes marked `@CacheResponse()` from the cache. Works on any HTTP platform (the
 * adapter reads the request and writes the headers). What is cached is the serialized body, so
 * a hit sends a stored string and serializes nothing. Runs after the guards: see
 * `@CacheResponse()` for why access checks must be guards.
 */
@Injectable()
export class HttpCacheInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly adapterHost: HttpAdapterHost,
    private readonly cache: CacheService,
    @Inject(CACHE_OPTIONS)
    private readonly options: Pick<CacheOptions, 'defaultTtlMs' | 'callerOf' | 'queryPipe'>,
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
    const ttlMs = route.ttlMs ?? this.options.defaultTtlMs;
    const caller = route.perCaller ? this.options.callerOf(request) : undefined;
    if (!(ttlMs > 0) || (route.perCaller && caller === undefined)) {
      return next.handle();
    }
    const queryType = queryTypeOf(
      context.getClass(),
      context.getHandler() as (...args: never[]) => unknown,
    );
    const routeTemplate = routeTemplateOf(request, httpAdapter.getRequestUrl(request) as string);
    return defer(async () => {
      // A query the route would refuse (unknown names, bad values) is a 400 before the cache.
      const query = await validateCachedQuery(this.options.queryPipe, queryType, request.query);
      const entry = {
        key: buildCacheKey(routeTemplate, request.params, query, caller),
        tags: route.tags(request),
        ttlMs,
      };
      return this.cache.getOrLoad(entry, () => serializedAnswer(next));
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

/** The route's template on Fastify (`/api/rooms/:id`); elsewhere the path, which is as unique. */
function routeTemplateOf(request: unknown, url: string): string {
  const template = (request as { routeOptions?: { url?: string } }).routeOptions?.url;
  return template ?? url.split('?')[0];
}

/** The handler's answer as the JSON text the client receives. */
async function serializedAnswer(next: CallHandler): Promise<string | undefined> {
  const answer: unknown = await lastValueFrom(next.handle(), { defaultValue: undefined });
  return answer === undefined ? undefined : JSON.stringify(answer);
}
