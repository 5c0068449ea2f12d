import { CACHE_MANAGER } from '@nestjs/cache-manager';
import { Test } from '@nestjs/testing';
import type { Cache } from 'cache-manager';
import { CacheModule } from './cache.module';
import { CacheService } from './cache.service';

/** A key as `RoomCache` stores an access decision under it. */
const DECISION_KEY = 'room:8b027f08-0000-4000-8000-000000000001 member 5d1c9f7a';

describe('CACHE_MANAGER beside the tagged cache', () => {
  async function compile() {
    const moduleRef = await Test.createTestingModule({
      imports: [CacheModule.forRoot({ defaultTtlMs: 60_000 })],
    }).compile();
    return {
      moduleRef,
      cache: moduleRef.get(CacheService),
      cacheManager: moduleRef.get<Cache>(CACHE_MANAGER),
    };
  }

  it('cannot forge or wipe an access decision: its set and clear touch its own values only', async () => {
    const { moduleRef, cache, cacheManager } = await compile();
    let loads = 0;
    const decide = () =>
      cache.getOrLoad({ key: DECISION_KEY, tags: ['room:x'], ttlMs: 60_000 }, () => {
        loads += 1;
        return Promise.resolve(false);
      });
    try {
      expect(await decide()).toEqual({ value: false, source: 'loader' });

      await cacheManager.set(DECISION_KEY, true);
      // Positive controls: CACHE_MANAGER keeps its own value, and the decision stays cached.
      expect(await cacheManager.get(DECISION_KEY)).toBe(true);
      expect(await decide()).toEqual({ value: false, source: 'memory' });

      await cacheManager.clear();
      expect(await cacheManager.get(DECISION_KEY)).toBeUndefined();
      expect(await decide()).toEqual({ value: false, source: 'memory' });
      expect(loads).toBe(1);
    } finally {
      await moduleRef.close();
    }
  });
});
