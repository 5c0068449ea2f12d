import { Logger } from '@nestjs/common';
import {
  CacheInvalidation,
  CacheInvalidationChannel,
  InProcessCacheInvalidationChannel,
} from './cache-invalidation.channel';
import { CacheMetrics } from './cache-metrics';
import { DEFAULT_MEMORY_OPTIONS } from './cache-options';
import { CacheEntryOptions, CacheService } from './cache.service';
import { MemoryCacheTier } from './memory-cache.tier';
import {
  SharedCacheTier,
  SharedEntry,
  SharedInvalidationResult,
  SharedWriteResult,
  TagGenerations,
} from './shared-cache.tier';

/** A promise whose settlement the test controls. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((onResolve, onReject) => {
    resolve = onResolve;
    reject = onReject;
  });
  return { promise, resolve, reject };
}

/**
 * Redis's contract, in memory: entries stored under the generations of their tags, and one
 * counter per tag, shared by every instance.
 */
class FakeSharedTier implements SharedCacheTier {
  /** Every stored value, by `<generations>|<key>`. */
  readonly stored = new Map<string, unknown>();
  readonly generationOf = new Map<string, number>();

  /** What a read of `key` under `tags` finds now. */
  current(key: string, tags: readonly string[] = ['room:1']): unknown {
    return this.stored.get(`${this.generationsOf(tags).join('.')}|${key}`);
  }

  /** Puts a value where a read of `key` under `tags` finds it, as another instance would. */
  seed(key: string, value: unknown, tags: readonly string[] = ['room:1']): void {
    this.stored.set(`${this.generationsOf(tags).join('.')}|${key}`, value);
  }

  get<T>(
    key: string,
    _tags: readonly string[],
    generations: TagGenerations,
  ): Promise<SharedEntry<T> | undefined> {
    const value = this.stored.get(`${generations.join('.')}|${key}`) as T | undefined;
    return Promise.resolve(value === undefined ? undefined : { value, expiresAt: undefined });
  }

  generations(tags: readonly string[]): Promise<TagGenerations> {
    return Promise.resolve(this.generationsOf(tags));
  }

  set<T>(
    key: string,
    tags: readonly string[],
    generations: TagGenerations,
    value: T,
  ): Promise<SharedWriteResult> {
    if (generations.join('.') !== this.generationsOf(tags).join('.')) {
      return Promise.resolve('stale');
    }
    this.stored.set(`${generations.join('.')}|${key}`, value);
    return Promise.resolve('stored');
  }

  invalidate(tags: readonly string[]): Promise<SharedInvalidationResult> {
    for (const tag of tags) {
      this.generationOf.set(tag, (this.generationOf.get(tag) ?? 0) + 1);
    }
    return Promise.resolve('done');
  }

  health(): 'up' {
    return 'up';
  }

  private generationsOf(tags: readonly string[]): string[] {
    return tags.map((tag) => String(this.generationOf.get(tag) ?? 0));
  }
}

function createCacheService(
  options: { shared?: SharedCacheTier; channel?: CacheInvalidationChannel } = {},
) {
  const metrics = new CacheMetrics();
  const memory = new MemoryCacheTier(DEFAULT_MEMORY_OPTIONS, metrics);
  const service = new CacheService(
    memory,
    options.shared ?? null,
    options.channel ?? new InProcessCacheInvalidationChannel(),
    metrics,
    { memory: DEFAULT_MEMORY_OPTIONS },
  );
  service.onModuleInit();
  return { service, metrics, memory };
}

const entry = (key: string, tags: string[] = ['room:1']): CacheEntryOptions => ({
  key,
  tags,
  ttlMs: 30_000,
});

describe(CacheService.name, () => {
  it('loads on a miss, then answers from memory', async () => {
    const { service } = createCacheService();
    const loader = jest.fn().mockResolvedValue('page');

    const first = await service.getOrLoad(entry('k'), loader);
    const second = await service.getOrLoad(entry('k'), loader);

    expect(first).toEqual({ value: 'page', source: 'loader' });
    expect(second).toEqual({ value: 'page', source: 'memory' });
    expect(loader).toHaveBeenCalledTimes(1);
  });

  describe('single flight', () => {
    it('50 concurrent misses of one key call the loader once', async () => {
      const { service, metrics } = createCacheService();
      const load = deferred<string>();
      const loader = jest.fn(() => load.promise);

      const reads = Array.from({ length: 50 }, () => service.getOrLoad(entry('k'), loader));
      load.resolve('page');
      const results = await Promise.all(reads);

      expect(loader).toHaveBeenCalledTimes(1);
      expect(results.every((result) => result.value === 'page')).toBe(true);
      expect(results.filter((result) => result.source === 'loader')).toHaveLength(1);
      expect(results.filter((result) => result.source === 'coalesced')).toHaveLength(49);
      expect(metrics.snapshot()).toMatchObject({ loads: 1, coalesced: 49 });
    });

    it('also with the shared tier in front of the loader', async () => {
      const shared = new FakeSharedTier();
      const { service } = createCacheService({ shared });
      const loader = jest.fn().mockResolvedValue('page');

      await Promise.all(Array.from({ length: 50 }, () => service.getOrLoad(entry('k'), loader)));

      expect(loader).toHaveBeenCalledTimes(1);
      expect(shared.current('k')).toBe('page');
    });

    it('gives a loader error to every waiter and caches nothing', async () => {
      const { service } = createCacheService();
      const failure = new Error('database down');
      const loader = jest.fn().mockRejectedValueOnce(failure).mockResolvedValue('page');

      const reads = Array.from({ length: 5 }, () => service.getOrLoad(entry('k'), loader));

      for (const read of reads) {
        await expect(read).rejects.toBe(failure);
      }
      expect(await service.getOrLoad(entry('k'), loader)).toEqual({
        value: 'page',
        source: 'loader',
      });
      expect(loader).toHaveBeenCalledTimes(2);
    });

    it('does not cache undefined', async () => {
      const { service } = createCacheService();
      const loader = jest.fn().mockResolvedValue(undefined);

      await service.getOrLoad(entry('k'), loader);
      await service.getOrLoad(entry('k'), loader);

      expect(loader).toHaveBeenCalledTimes(2);
    });
  });

  it('with a TTL of 0 only loads, and asks no tier', async () => {
    const shared = new FakeSharedTier();
    const get = jest.spyOn(shared, 'get');
    const { service } = createCacheService({ shared });
    const loader = jest.fn().mockResolvedValue('page');

    await service.getOrLoad({ ...entry('k'), ttlMs: 0 }, loader);
    const second = await service.getOrLoad({ ...entry('k'), ttlMs: 0 }, loader);

    expect(second).toEqual({ value: 'page', source: 'loader' });
    expect(loader).toHaveBeenCalledTimes(2);
    expect(get).not.toHaveBeenCalled();
    expect(shared.stored.size).toBe(0);
  });

  describe('tag invalidation', () => {
    it('removes the entries recorded under a tag, and only those', async () => {
      const { service, memory, metrics } = createCacheService();
      await service.getOrLoad(entry('messages', ['room:1']), () => Promise.resolve('m'));
      await service.getOrLoad(entry('members', ['room:1', 'user:7']), () => Promise.resolve('u'));
      await service.getOrLoad(entry('other', ['room:2']), () => Promise.resolve('o'));

      await service.invalidateTags(['room:1']);

      expect(memory.get('messages')).toBeUndefined();
      expect(memory.get('members')).toBeUndefined();
      expect(memory.get('other')).toBe('o');
      expect(metrics.snapshot().tiers.memory.invalidations).toBe(2);
    });

    it('takes effect before invalidateTags returns, and in the shared tier too', async () => {
      const shared = new FakeSharedTier();
      const { service } = createCacheService({ shared });
      const loader = jest.fn().mockResolvedValueOnce('before').mockResolvedValue('after');
      await service.getOrLoad(entry('k'), loader);

      await service.invalidateTags(['room:1']);

      expect(shared.current('k')).toBeUndefined();
      expect(await service.getOrLoad(entry('k'), loader)).toEqual({
        value: 'after',
        source: 'loader',
      });
    });

    it("reaches the other instances' memory through the channel", async () => {
      const channel = new InProcessCacheInvalidationChannel();
      const shared = new FakeSharedTier();
      const a = createCacheService({ shared, channel });
      const b = createCacheService({ shared, channel });
      await a.service.getOrLoad(entry('k'), () => Promise.resolve('page'));
      await b.service.getOrLoad(entry('k'), () => Promise.resolve('page'));

      await b.service.invalidateTags(['room:1']);

      expect(a.memory.get('k')).toBeUndefined();
      expect(b.memory.get('k')).toBeUndefined();
    });

    it('ignores its own message coming back', async () => {
      const channel = new InProcessCacheInvalidationChannel();
      const { service, metrics } = createCacheService({ channel });
      const received: CacheInvalidation[] = [];
      channel.onInvalidate((invalidation) => received.push(invalidation));
      await service.getOrLoad(entry('k'), () => Promise.resolve('page'));

      await service.invalidateTags(['room:1', 'room:1']);

      expect(received).toEqual([{ tags: ['room:1'], origin: expect.any(String) }]);
      expect(metrics.snapshot().tiers.memory.invalidations).toBe(1);
    });

    it('still invalidates locally when the channel cannot publish', async () => {
      class BrokenChannel extends InProcessCacheInvalidationChannel {
        override publish(): Promise<void> {
          return Promise.reject(new Error('bus down'));
        }
      }
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      const { service, memory, metrics } = createCacheService({ channel: new BrokenChannel() });
      await service.getOrLoad(entry('k'), () => Promise.resolve('page'));

      await expect(service.invalidateTags(['room:1'])).resolves.toBeUndefined();

      expect(memory.get('k')).toBeUndefined();
      expect(metrics.snapshot().publishErrors).toBe(1);
      expect(warn).toHaveBeenCalledWith(expect.stringContaining('bus down'));
      warn.mockRestore();
    });

    it('warns once per outage of the channel, however many writes fail to publish', async () => {
      let down = true;
      class FlakyChannel extends InProcessCacheInvalidationChannel {
        override publish(): Promise<void> {
          return down ? Promise.reject(new Error('bus down')) : Promise.resolve();
        }
      }
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
      const { service, metrics } = createCacheService({ channel: new FlakyChannel() });

      await service.invalidateTags(['room:1']);
      await service.invalidateTags(['room:2']);
      down = false;
      await service.invalidateTags(['room:3']);
      down = true;
      await service.invalidateTags(['room:4']);

      expect(metrics.snapshot().publishErrors).toBe(3);
      expect(warn).toHaveBeenCalledTimes(2);
      jest.restoreAllMocks();
    });
  });

  describe('a load overtaken by an invalidation', () => {
    it('is not stored, and later reads load afresh', async () => {
      const { service, metrics } = createCacheService();
      const slow = deferred<string>();
      const loader = jest.fn().mockReturnValueOnce(slow.promise).mockResolvedValue('fresh');

      const before = service.getOrLoad(entry('k'), loader);
      await Promise.resolve();
      await service.invalidateTags(['room:1']);
      // A read after the write's invalidation must not join the old load.
      const after = await service.getOrLoad(entry('k'), loader);
      slow.resolve('stale');

      expect(await before).toEqual({ value: 'stale', source: 'loader' });
      expect(after).toEqual({ value: 'fresh', source: 'loader' });
      expect(await service.getOrLoad(entry('k'), loader)).toEqual({
        value: 'fresh',
        source: 'memory',
      });
      expect(metrics.snapshot().discardedLoads).toBe(1);
    });

    it('is not stored when another instance invalidated the tag in the shared tier', async () => {
      const shared = new FakeSharedTier();
      const a = createCacheService({ shared });
      const b = createCacheService({ shared });
      const slow = deferred<string>();
      const loader = jest.fn().mockReturnValueOnce(slow.promise).mockResolvedValue('fresh');

      const load = a.service.getOrLoad(entry('k'), loader);
      await new Promise((resolve) => setImmediate(resolve));
      // B takes the write; its message to A is lost (no shared channel here).
      await b.service.invalidateTags(['room:1']);
      slow.resolve('stale');
      await load;

      expect(shared.current('k')).toBeUndefined();
      expect(a.memory.get('k')).toBeUndefined();
      expect(a.metrics.snapshot().discardedLoads).toBe(1);
      expect((await a.service.getOrLoad(entry('k'), loader)).value).toBe('fresh');
    });

    it('leaves loads of other tags alone', async () => {
      const { service } = createCacheService();
      const slow = deferred<string>();
      const load = service.getOrLoad(entry('k', ['room:2']), () => slow.promise);

      await service.invalidateTags(['room:1']);
      slow.resolve('page');
      await load;

      expect(await service.getOrLoad(entry('k', ['room:2']), jest.fn())).toEqual({
        value: 'page',
        source: 'memory',
      });
    });
  });

  describe('with the shared tier', () => {
    it('answers from it and fills memory', async () => {
      const shared = new FakeSharedTier();
      shared.seed('k', 'from another instance');
      const { service } = createCacheService({ shared });
      const loader = jest.fn();

      expect(await service.getOrLoad(entry('k'), loader)).toEqual({
        value: 'from another instance',
        source: 'redis',
      });
      expect(await service.getOrLoad(entry('k'), loader)).toEqual({
        value: 'from another instance',
        source: 'memory',
      });
      expect(loader).not.toHaveBeenCalled();
    });

    it('reports its health', () => {
      expect(createCacheService().service.health()).toEqual({ redis: 'disabled' });
      expect(createCacheService({ shared: new FakeSharedTier() }).service.health()).toEqual({
        redis: 'up',
      });
    });
  });
});
