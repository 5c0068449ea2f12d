import { randomBytes } from 'node:crypto';
import { Test, TestingModule } from '@nestjs/testing';
import Redis from 'ioredis';
import { CacheModule, CacheService } from '@libs/cache';
import { RedisModule } from '@libs/redis';
import { requireTestRedisUrl } from '@test/support/test-redis';

/**
 * A rolling upgrade shares the Redis with instances of the previous release (commit 56ee10c),
 * whose tier stored `<prefix>cache:entry:<key>`, recorded it in `<prefix>cache:tag:<tag>`, and
 * read it without generations: a write on this release must delete those, or that release keeps
 * serving what the write changed until its TTL.
 */
describe('the Redis cache tier beside the previous release (services)', () => {
  let redis: Redis;
  let moduleRef: TestingModule;
  const prefix = `switchboard-test-${randomBytes(4).toString('hex')}:`;

  beforeAll(async () => {
    redis = new Redis(requireTestRedisUrl());
    moduleRef = await Test.createTestingModule({
      imports: [
        RedisModule.forRoot({ url: requireTestRedisUrl(), keyPrefix: prefix }),
        CacheModule.forRoot({ defaultTtlMs: 30_000 }),
      ],
    }).compile();
    await moduleRef.init();
  });

  afterAll(async () => {
    await moduleRef?.close();
    // SCAN, not KEYS: the Redis of `test:services` is shared.
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) {
        await redis.unlink(...keys);
      }
    } while (cursor !== '0');
    redis?.disconnect();
  });

  /** What its SET_IF_CURRENT_SCRIPT left behind for one cached page. */
  async function storeAsPreviousRelease(key: string, tag: string): Promise<string> {
    const entryKey = `${prefix}cache:entry:${key}`;
    await redis.set(entryKey, JSON.stringify({ value: 'a page', expires: null }), 'PX', 30_000);
    await redis.sadd(`${prefix}cache:tag:${tag}`, entryKey);
    return entryKey;
  }

  it('an invalidation here deletes the entries that release stored under the tag', async () => {
    const changed = await storeAsPreviousRelease('GET /api/rooms/1/messages', 'room:1:messages');
    const unrelated = await storeAsPreviousRelease('GET /api/rooms/2/messages', 'room:2:messages');

    await moduleRef.get(CacheService).invalidateTags(['room:1:messages']);

    expect(await redis.exists(changed, `${prefix}cache:tag:room:1:messages`)).toBe(0);
    // Positive control: what the write did not change stays.
    expect(await redis.exists(unrelated, `${prefix}cache:tag:room:2:messages`)).toBe(2);
  });
});
