import { Logger } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import Redis from 'ioredis';
import { ConfigModule, loadConfig } from '@config';
import { CacheModule, CacheService } from '@libs/cache';
import { RedisModule } from '@libs/redis';
import { RedisServerProcess } from '@test/support/redis-server-process';
import { requireTestRedisUrl } from '@test/support/test-redis';

const PAGES = 100_000;
const ROOMS = 10;
/** Concurrent loads: enough to keep the one connection busy, bounded all the same. */
const CONCURRENCY = 200;
/** Every this many pages, each room takes a write (its tag is invalidated). */
const WRITE_EVERY = 10_000;
const TTL_MS = 10 * 60_000;
const KEY_PREFIX = 'switchboard-test-footprint:';

async function startCache(redisUrl: string): Promise<TestingModule> {
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent' });
  const module = await Test.createTestingModule({
    imports: [
      ConfigModule.forRoot(config),
      RedisModule.forRoot({ url: redisUrl, keyPrefix: KEY_PREFIX, commandTimeoutMs: 5_000 }),
      CacheModule.forRoot({ defaultTtlMs: 30_000 }),
    ],
  }).compile();
  await module.init();
  return module;
}

/** Every key of the (private) server, by kind, with whether it has a TTL. */
async function inventory(redis: Redis) {
  const kinds = new Map<string, number>();
  let withoutTtl: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 5000);
    cursor = next;
    const pipeline = redis.pipeline();
    for (const key of keys) {
      pipeline.type(key).pttl(key);
    }
    const replies = (await pipeline.exec()) ?? [];
    keys.forEach((key, index) => {
      const type = replies[2 * index][1] as string;
      const ttl = replies[2 * index + 1][1] as number;
      const kind = `${type} ${key.slice(KEY_PREFIX.length).split(':').slice(0, 2).join(':')}`;
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      if (ttl < 0) {
        withoutTtl = [...withoutTtl, key];
      }
    });
  } while (cursor !== '0');
  return { kinds: Object.fromEntries(kinds), withoutTtl };
}

/**
 * The shared tier's Redis footprint under 100 k distinct cached pages of a few rooms, with
 * writes between them: only the entries themselves (each with its TTL) and one counter per
 * invalidated tag (plus the tier's epoch). No per-room set of entries that grows with the
 * room's age; an invalidation deletes nothing in bulk.
 */
describe('cache footprint in Redis (services)', () => {
  let server: RedisServerProcess;
  let inspector: Redis;
  const modules: TestingModule[] = [];

  beforeAll(async () => {
    requireTestRedisUrl();
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    server = await RedisServerProcess.start();
    inspector = new Redis(server.url);
  });

  afterAll(async () => {
    await Promise.all(modules.map((module) => module.close()));
    inspector?.disconnect();
    await server?.stop();
    jest.restoreAllMocks();
  });

  it('100 k distinct pages leave the entries with their TTL and O(tags) counters, nothing else', async () => {
    const writer = await startCache(server.url);
    modules.push(writer);
    const cache = writer.get(CacheService);
    const tagOf = (page: number) => `room:${page % ROOMS}`;
    const load = (page: number) =>
      cache.getOrLoad(
        {
          key: `GET /rooms/${page % ROOMS}/messages?cursor=${page}`,
          tags: [tagOf(page)],
          ttlMs: TTL_MS,
        },
        () => Promise.resolve(`page ${page}`),
      );

    for (let first = 0; first < PAGES; first += CONCURRENCY) {
      const batch = Array.from({ length: CONCURRENCY }, (_, offset) => load(first + offset));
      const results = await Promise.all(batch);
      expect(results.every((result) => result.source === 'loader')).toBe(true);
      if ((first + CONCURRENCY) % WRITE_EVERY === 0) {
        await cache.invalidateTags(Array.from({ length: ROOMS }, (_, room) => `room:${room}`));
      }
    }

    const { kinds, withoutTtl } = await inventory(inspector);
    expect(kinds).toEqual({
      [`string cache:entry`]: PAGES,
      [`string cache:gen`]: ROOMS,
    });
    expect(withoutTtl).toEqual([]);
    expect(await inspector.get(`${KEY_PREFIX}cache:gen:room:0`)).toBe(String(PAGES / WRITE_EVERY));

    // Positive control: the entries are really shared. A second instance stores the page again
    // under the current generation, and a third one, whose memory is empty, gets it from Redis.
    const reader = await startCache(server.url);
    modules.push(reader);
    const readerCache = reader.get(CacheService);
    const lastPage = PAGES - 1;
    const entry = {
      key: `GET /rooms/${lastPage % ROOMS}/messages?cursor=${lastPage}`,
      tags: [tagOf(lastPage)],
      ttlMs: TTL_MS,
    };
    // The last write came after the last pages were stored: their generation is gone.
    expect((await readerCache.getOrLoad(entry, () => Promise.resolve('fresh'))).source).toBe(
      'loader',
    );
    const otherReader = await startCache(server.url);
    modules.push(otherReader);
    expect(
      await otherReader.get(CacheService).getOrLoad(entry, () => Promise.resolve('again')),
    ).toEqual({
      value: 'fresh',
      source: 'redis',
    });
  }, 300_000);
});
