import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import Redis from 'ioredis';
import request from 'supertest';
import { CacheModule, CacheService } from '@libs/cache';
import { RedisModule } from '@libs/redis';
import { bearer, registerUser } from '@test/support/auth-helpers';
import { RedisServerProcess } from '@test/support/redis-server-process';
import { requireTestRedisUrl } from '@test/support/test-redis';
import { startTestApp, TestApp } from '@test/support/test-app';

const PROBE_INTERVAL_MS = 100;

/** Polls `condition` every 50 ms for at most `timeoutMs`. */
async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(`condition not met within ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((onResolve) => (resolve = onResolve));
  return { promise, resolve };
}

/** One instance's cache: the real module on its own, as an app would have it. */
async function startCache(redisUrl: string, keyPrefix: string): Promise<TestingModule> {
  const module = await Test.createTestingModule({
    imports: [
      // One failed command opens the circuit: what "a frozen Redis costs one timeout" needs.
      RedisModule.forRoot({
        url: redisUrl,
        keyPrefix,
        probeIntervalMs: PROBE_INTERVAL_MS,
        failureThreshold: 1,
      }),
      CacheModule.forRoot({ defaultTtlMs: 30_000 }),
    ],
  }).compile();
  await module.init();
  return module;
}

/** SCAN, not KEYS: the Redis of `test:services` is shared. */
async function keysMatching(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

const entry = (key: string, tags = ['room:1']) => ({ key, tags, ttlMs: 30_000 });
const testPrefix = () => `switchboard-test-${randomBytes(4).toString('hex')}:`;

describe('Redis cache tier (services)', () => {
  const modules: TestingModule[] = [];
  let warn: jest.SpyInstance;

  beforeAll(() => {
    requireTestRedisUrl();
  });

  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  afterAll(async () => {
    await Promise.all(modules.map((module) => module.close()));
  });

  async function cacheOn(redisUrl: string, keyPrefix: string): Promise<CacheService> {
    const module = await startCache(redisUrl, keyPrefix);
    modules.push(module);
    return module.get(CacheService);
  }

  describe('two instances on one Redis', () => {
    const keyPrefix = testPrefix();
    let redis: Redis;
    /** The entries stored for `key`, whatever generations they were stored under. */
    const storedEntries = async (key: string) =>
      (await keysMatching(redis, `${keyPrefix}cache:entry:*:${key}`)).length;

    beforeAll(() => {
      redis = new Redis(requireTestRedisUrl());
    });

    afterAll(async () => {
      if (!redis) {
        return;
      }
      const keys = await keysMatching(redis, `${keyPrefix}*`);
      if (keys.length > 0) {
        await redis.del(...keys);
      }
      redis.disconnect();
    });

    it('an invalidation by instance B removes what instance A stored in Redis', async () => {
      const url = requireTestRedisUrl();
      const a = await cacheOn(url, keyPrefix);
      const b = await cacheOn(url, keyPrefix);
      const c = await cacheOn(url, keyPrefix);
      const loader = jest.fn().mockResolvedValue('page');

      expect(await a.getOrLoad(entry('GET /messages'), loader)).toEqual({
        value: 'page',
        source: 'loader',
      });
      expect(await storedEntries('GET /messages')).toBe(1);
      expect(await b.getOrLoad(entry('GET /messages'), loader)).toEqual({
        value: 'page',
        source: 'redis',
      });

      // B's channel does not reach A here: what goes is what A stored in Redis.
      await b.invalidateTags(['room:1']);

      // Not deleted: under an old generation, never read again, gone with its TTL.
      const [oldEntry] = await keysMatching(redis, `${keyPrefix}cache:entry:*`);
      expect(await redis.pttl(oldEntry)).toBeGreaterThan(0);
      expect(await redis.get(`${keyPrefix}cache:gen:room:1`)).toBe('1');
      expect((await c.getOrLoad(entry('GET /messages'), loader)).source).toBe('loader');
      expect(loader).toHaveBeenCalledTimes(2);
    });

    it("a slow load on A overtaken by B's invalidation is not written to Redis", async () => {
      const url = requireTestRedisUrl();
      const a = await cacheOn(url, keyPrefix);
      const b = await cacheOn(url, keyPrefix);
      const slow = deferred<string>();
      const loaderStarted = deferred<void>();

      const load = a.getOrLoad(entry('GET /slow'), () => {
        loaderStarted.resolve();
        return slow.promise;
      });
      await loaderStarted.promise;
      await b.invalidateTags(['room:1']);
      slow.resolve('stale');

      expect((await load).value).toBe('stale');
      expect(await storedEntries('GET /slow')).toBe(0);
      expect((await b.getOrLoad(entry('GET /slow'), () => Promise.resolve('fresh'))).value).toBe(
        'fresh',
      );
    });
  });

  describe('Redis stopped mid-test', () => {
    let server: RedisServerProcess;

    beforeAll(async () => {
      server = await RedisServerProcess.start();
    });

    afterAll(async () => {
      await server?.stop();
    });

    it('reads succeed through the loader, and hits come back after Redis does', async () => {
      const keyPrefix = testPrefix();
      const a = await cacheOn(server.url, keyPrefix);
      const b = await cacheOn(server.url, keyPrefix);
      const loader = jest.fn((key: string) => Promise.resolve(`page ${key}`));
      await a.getOrLoad(entry('before'), () => loader('before'));
      expect((await b.getOrLoad(entry('before'), () => loader('before'))).source).toBe('redis');

      await server.stop();

      for (let index = 0; index < 10; index += 1) {
        const started = Date.now();
        const key = `during-${index}`;
        const result = await a.getOrLoad(entry(key), () => loader(key));
        expect(result.value).toBe(`page ${key}`);
        expect(Date.now() - started).toBeLessThan(1_000);
      }
      await expect(a.invalidateTags(['room:1'])).resolves.toBeUndefined();
      await waitFor(() => a.health().redis === 'degraded' && b.health().redis === 'degraded');
      const outageWarnings = () =>
        warn.mock.calls.filter(([message]) => /^Redis at \S+ unavailable/.test(String(message)))
          .length;
      expect(outageWarnings()).toBe(2); // one per instance
      for (let index = 0; index < 10; index += 1) {
        await b.getOrLoad(entry(`more-${index}`), () => loader('more'));
      }
      expect(outageWarnings()).toBe(2);

      await server.start();
      await waitFor(() => a.health().redis === 'up' && b.health().redis === 'up');

      await a.getOrLoad(entry('after'), () => loader('after'));
      expect(await b.getOrLoad(entry('after'), () => loader('after'))).toEqual({
        value: 'page after',
        source: 'redis',
      });
    });

    it('a frozen Redis costs one command timeout, and missed invalidations are replayed', async () => {
      await server.start();
      const keyPrefix = testPrefix();
      const a = await cacheOn(server.url, keyPrefix);
      const loader = jest.fn((key: string) => Promise.resolve(`page ${key}`));
      await a.getOrLoad(entry('kept', ['room:9']), () => loader('kept'));

      server.pause();
      try {
        const started = Date.now();
        expect((await a.getOrLoad(entry('other'), () => loader('other'))).value).toBe('page other');
        expect(Date.now() - started).toBeLessThan(1_000);
        expect(a.health().redis).toBe('degraded');
        // Not sent to the frozen Redis: kept for replay.
        await a.invalidateTags(['room:9']);
      } finally {
        server.resume();
      }

      await waitFor(() => a.health().redis === 'up');
      const fresh = await cacheOn(server.url, keyPrefix);
      expect((await fresh.getOrLoad(entry('kept', ['room:9']), () => loader('kept'))).source).toBe(
        'loader',
      );
    });

    it('the app answers and /health/ready says the cache is degraded', async () => {
      let testApp: TestApp | undefined;
      try {
        await server.start();
        testApp = await startTestApp({
          environment: { REDIS_URL: server.url, REDIS_KEY_PREFIX: testPrefix() },
        });
        const http = () => request(testApp!.server);
        const alice = await registerUser(testApp);
        const bob = await registerUser(testApp);
        const profile = (id: string) =>
          http().get(`/api/users/${id}`).set(bearer(alice.accessToken));
        await profile(alice.id).expect(200).expect('X-Cache', 'MISS');
        const ready = await http().get('/health/ready').expect(200);
        expect(ready.body.info.cache).toEqual({ status: 'up', redis: 'up', degraded: false });
        expect(ready.body.degraded).toEqual([]);

        await server.stop();

        await profile(bob.id).expect(200).expect('X-Cache', 'MISS');
        await profile(bob.id).expect(200).expect('X-Cache', 'HIT'); // in-process tier
        await waitFor(async () => {
          const response = await http().get('/health/ready').expect(200);
          return (
            response.body.info.cache.redis === 'degraded' &&
            (response.body.degraded as string[]).includes('cache')
          );
        });

        await server.start();
        await waitFor(async () => {
          const response = await http().get('/health/ready').expect(200);
          return response.body.info.cache.redis === 'up';
        });
      } finally {
        await testApp?.close();
      }
    });
  });
});
