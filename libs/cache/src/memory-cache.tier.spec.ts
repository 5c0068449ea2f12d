import { CacheMetrics } from './cache-metrics';
import { MemoryCacheTier } from './memory-cache.tier';

function tier(options: { maxEntries?: number; maxSize?: number; maxTtlMs?: number } = {}) {
  return new MemoryCacheTier(
    { maxEntries: 10, maxSize: 1_000, frontTtlMs: 5_000, ...options },
    new CacheMetrics(),
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe(MemoryCacheTier.name, () => {
  it('evicts the least recently used entry, and forgets its tags', () => {
    const memory = tier({ maxEntries: 2 });
    memory.set('a', 'A', ['room:1'], 60_000);
    memory.set('b', 'B', ['room:1'], 60_000);
    expect(memory.get('a')).toBe('A'); // a is now the most recently used

    memory.set('c', 'C', ['room:2'], 60_000);

    expect(memory.get('b')).toBeUndefined();
    expect([memory.get('a'), memory.get('c')]).toEqual(['A', 'C']);
    // Only a is left under room:1: an invalidation finds one entry, not the evicted one.
    expect(memory.invalidate(['room:1'])).toBe(1);
    expect(memory.size).toBe(1);
  });

  it('bounds the total body size, and refuses a body larger than all of it', () => {
    const memory = tier({ maxSize: 10 });
    memory.set('a', '12345', [], 60_000);
    memory.set('b', '123456', [], 60_000);
    expect(memory.get('a')).toBeUndefined();
    expect(memory.get('b')).toBe('123456');

    memory.set('huge', 'x'.repeat(11), ['room:1'], 60_000);
    expect(memory.get('huge')).toBeUndefined();
    expect(memory.invalidate(['room:1'])).toBe(0);
  });

  it('expires entries after their TTL, capped by maxTtlMs', async () => {
    const memory = tier({ maxTtlMs: 200 });
    memory.set('short', 'S', [], 20);
    memory.set('capped', 'C', [], 60_000);

    // Expiry is checked on read: there is no event to wait for.
    await sleep(60);
    expect(memory.get('short')).toBeUndefined();
    expect(memory.get('capped')).toBe('C');
    await sleep(200);
    expect(memory.get('capped')).toBeUndefined();
  });

  it('removes every entry of a tag, and only those', () => {
    const memory = tier();
    memory.set('messages', 'm', ['room:1'], 60_000);
    memory.set('members', 'u', ['room:1', 'user:7'], 60_000);
    memory.set('other', 'o', ['room:2'], 60_000);

    expect(memory.invalidate(['room:1'])).toBe(2);

    expect([memory.get('messages'), memory.get('members'), memory.get('other')]).toEqual([
      undefined,
      undefined,
      'o',
    ]);
    // members is gone from user:7 too.
    expect(memory.invalidate(['user:7'])).toBe(0);
  });
});
