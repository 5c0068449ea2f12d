import { SettledRateLimit } from './settled-rate-limit';

describe(`${SettledRateLimit.name} without Redis`, () => {
  const ttlMs = 60_000;

  it('holds the limit per instance, starts over when the window ends, and forgets ended windows', async () => {
    const limiter = new SettledRateLimit('ws-connect', { limit: 3, ttlMs }, null);
    const start = Date.now();
    const hits = (key: string, at: number, count: number) =>
      Array.from({ length: count }, () => limiter.hit(key, at));

    expect(hits('a', start, 4)).toEqual([0, 0, 0, 60]);
    // Positive control: another key is counted on its own.
    expect(hits('b', start, 1)).toEqual([0]);
    expect(limiter.trackedKeys).toBe(2);

    // Past the block (and b's window), a settles its new window; b's ended one is forgotten.
    const later = start + ttlMs + 1;
    expect(hits('a', later, 1)).toEqual([0]);
    await limiter.settle(later);
    expect(limiter.trackedKeys).toBe(1);
  });
});
