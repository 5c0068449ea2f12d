import { BadRequestException, CallHandler, Query, ValidationPipe } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsInt, IsOptional } from 'class-validator';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { lastValueFrom, of } from 'rxjs';
import { InProcessCacheInvalidationChannel } from './cache-invalidation.channel';
import { CacheMetrics } from './cache-metrics';
import { callerFromRequestUser, DEFAULT_MEMORY_OPTIONS } from './cache-options';
import { CacheResponse } from './cache-response.decorator';
import { CachedRouteQueries } from './cached-route-query';
import { CacheService } from './cache.service';
import { HttpCacheInterceptor } from './http-cache.interceptor';
import { MemoryCacheTier } from './memory-cache.tier';

class PageQuery {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  limit?: number;
}

class RoomsController {
  @CacheResponse({ tags: (request) => [`room:${request.params.id}`] })
  getRoom() {}

  @CacheResponse({ tags: (request) => [`room:${request.params.id}`] })
  listMembers(@Query() _query: PageQuery) {}

  @CacheResponse({ tags: () => ['rooms'], perCaller: true })
  listRooms() {}

  @CacheResponse({ tags: () => ['rooms'], ttlMs: 0 })
  uncached() {}

  notMarked() {}
}

interface FakeRequest {
  method: string;
  url: string;
  params: Record<string, string>;
  query: Record<string, unknown>;
  user?: { id: string };
}

interface FakeResponse {
  headers: Record<string, string>;
}

/** Just the adapter methods the interceptor may use, over plain objects. */
const httpAdapter = {
  getRequestMethod: (request: FakeRequest) => request.method,
  getRequestUrl: (request: FakeRequest) => request.url,
  setHeader: (response: FakeResponse, name: string, value: string) => {
    response.headers[name] = value;
  },
};

function createInterceptor() {
  const metrics = new CacheMetrics();
  const cache = new CacheService(
    new MemoryCacheTier(DEFAULT_MEMORY_OPTIONS, metrics),
    null,
    new InProcessCacheInvalidationChannel(),
    metrics,
    { memory: DEFAULT_MEMORY_OPTIONS },
  );
  const interceptor = new HttpCacheInterceptor(
    new Reflector(),
    { httpAdapter } as unknown as HttpAdapterHost,
    cache,
    {
      defaultTtlMs: 30_000,
      callerOf: callerFromRequestUser,
      serializeAnswer: (answer) => JSON.stringify(answer),
    },
    new CachedRouteQueries({
      queryPipe: new ValidationPipe({
        whitelist: true,
        forbidNonWhitelisted: true,
        transform: true,
      }),
    }),
  );
  return { interceptor, cache };
}

function call(
  interceptor: HttpCacheInterceptor,
  handler: keyof RoomsController,
  request: Partial<FakeRequest>,
  answer: unknown = { id: '1', name: 'general' },
) {
  const fullRequest: FakeRequest = { method: 'GET', url: '/', params: {}, query: {}, ...request };
  const response: FakeResponse = { headers: {} };
  const context = new ExecutionContextHost(
    [fullRequest, response],
    RoomsController,
    RoomsController.prototype[handler],
  );
  const handle = jest.fn(() => of(answer));
  const next: CallHandler = { handle };
  const body = lastValueFrom(interceptor.intercept(context, next));
  return { body, response, handle };
}

describe(HttpCacheInterceptor.name, () => {
  it('answers MISS with the serialized body, then HIT without calling the handler', async () => {
    const { interceptor } = createInterceptor();
    const request = { url: '/api/rooms/1', params: { id: '1' } };

    const first = call(interceptor, 'getRoom', request);
    expect(await first.body).toBe('{"id":"1","name":"general"}');
    expect(first.response.headers).toEqual({
      'X-Cache': 'MISS',
      'Content-Type': 'application/json; charset=utf-8',
    });

    const second = call(interceptor, 'getRoom', request);
    expect(await second.body).toBe('{"id":"1","name":"general"}');
    expect(second.response.headers['X-Cache']).toBe('HIT');
    expect(second.handle).not.toHaveBeenCalled();
  });

  it('records the entry under the tags of the route', async () => {
    const { interceptor, cache } = createInterceptor();
    const request = { url: '/api/rooms/1', params: { id: '1' } };
    await call(interceptor, 'getRoom', request).body;

    await cache.invalidateTags(['room:1']);

    const again = call(interceptor, 'getRoom', request);
    await again.body;
    expect(again.response.headers['X-Cache']).toBe('MISS');
    expect(again.handle).toHaveBeenCalled();
  });

  it('keys a per-caller route by the caller', async () => {
    const { interceptor } = createInterceptor();
    const url = '/api/rooms?limit=5';

    await call(interceptor, 'listRooms', { url, user: { id: 'alice' } }, ['alice rooms']).body;
    const bob = call(interceptor, 'listRooms', { url, user: { id: 'bob' } }, ['bob rooms']);
    const aliceAgain = call(interceptor, 'listRooms', { url, user: { id: 'alice' } });

    expect(await bob.body).toBe('["bob rooms"]');
    expect(bob.response.headers['X-Cache']).toBe('MISS');
    expect(await aliceAgain.body).toBe('["alice rooms"]');
    expect(aliceAgain.response.headers['X-Cache']).toBe('HIT');
  });

  it('does not cache a per-caller route without a caller', async () => {
    const { interceptor } = createInterceptor();

    await call(interceptor, 'listRooms', { url: '/api/rooms' }).body;
    const second = call(interceptor, 'listRooms', { url: '/api/rooms' });
    await second.body;

    expect(second.handle).toHaveBeenCalled();
    expect(second.response.headers['X-Cache']).toBe('MISS');
  });

  it('leaves other methods, unmarked routes and a TTL of 0 alone', async () => {
    const { interceptor } = createInterceptor();
    const answer = { id: '1' };

    const head = call(interceptor, 'getRoom', { method: 'HEAD', params: { id: '1' } }, answer);
    const unmarked = call(interceptor, 'notMarked', {}, answer);
    const uncached = call(interceptor, 'uncached', {}, answer);

    expect(await head.body).toBe(answer);
    expect(head.response.headers).toEqual({});
    expect(await unmarked.body).toBe(answer);
    expect(await uncached.body).toBe(answer);
    expect(uncached.response.headers).toEqual({ 'X-Cache': 'MISS' });
    const uncachedAgain = call(interceptor, 'uncached', {}, answer);
    await uncachedAgain.body;
    expect(uncachedAgain.handle).toHaveBeenCalled();
  });

  it('refuses a query parameter the route does not declare, before the cache', async () => {
    const { interceptor } = createInterceptor();
    const request = { url: '/api/rooms/1', params: { id: '1' } };
    await call(interceptor, 'getRoom', request).body;

    const flood = call(interceptor, 'getRoom', { ...request, query: { x: '1' } });

    await expect(flood.body).rejects.toBeInstanceOf(BadRequestException);
    expect(flood.handle).not.toHaveBeenCalled();
    const valid = call(interceptor, 'getRoom', request);
    await valid.body;
    expect(valid.response.headers['X-Cache']).toBe('HIT');
  });

  it('keys by validated values: one entry for equivalent queries', async () => {
    const { interceptor } = createInterceptor();
    const request = { params: { id: '1' } };
    await call(interceptor, 'listMembers', { ...request, query: { limit: '05' } }).body;

    const same = call(interceptor, 'listMembers', { ...request, query: { limit: '5' } });
    await same.body;

    expect(same.response.headers['X-Cache']).toBe('HIT');
    await expect(
      call(interceptor, 'listMembers', { ...request, query: { limit: '5', x: '1' } }).body,
    ).rejects.toBeInstanceOf(BadRequestException);
  });
});
