import { FixedWindowThrottlerStorage } from './fixed-window-throttler.storage';

describe(FixedWindowThrottlerStorage.name, () => {
  const start = 1_000_000;
  let storage: FixedWindowThrottlerStorage;

  beforeEach(() => {
    storage = new FixedWindowThrottlerStorage();
  });

  afterEach(() => storage.onApplicationShutdown());

  it('lets `limit` requests through in a window and refuses the next one until the block ends', () => {
    const allowed = [1, 2, 3].map((i) => storage.count('k', 60_000, 3, 30_000, start + i));
    expect(allowed.map((record) => [record.totalHits, record.isBlocked])).toEqual([
      [1, false],
      [2, false],
      [3, false],
    ]);

    const refused = storage.count('k', 60_000, 3, 30_000, start + 10);
    expect(refused).toMatchObject({ isBlocked: true, timeToBlockExpire: 30 });
    // Still blocked later in the block, and counting no further.
    expect(storage.count('k', 60_000, 3, 30_000, start + 29_000)).toMatchObject({
      isBlocked: true,
      totalHits: 4,
      timeToBlockExpire: 2,
    });

    // The block is over: a fresh window.
    expect(storage.count('k', 60_000, 3, 30_000, start + 30_011)).toMatchObject({
      isBlocked: false,
      totalHits: 1,
      timeToExpire: 60,
    });
  });

  it('starts a new window when the old one ends, and counts keys apart', () => {
    storage.count('a', 1_000, 1, 1_000, start);
    expect(storage.count('b', 1_000, 1, 1_000, start).isBlocked).toBe(false);
    expect(storage.count('a', 1_000, 1, 1_000, start + 999).isBlocked).toBe(true);
    expect(storage.count('b', 1_000, 1, 1_000, start + 2_000)).toMatchObject({
      isBlocked: false,
      totalHits: 1,
    });
  });

  it('forgets keys whose window and block have ended, and only those', () => {
    storage.count('old', 1_000, 10, 1_000, start);
    storage.count('new', 1_000, 10, 1_000, start + 900);
    storage.sweep(start + 1_500);
    expect(storage.size).toBe(1);
    expect(storage.count('new', 1_000, 10, 1_000, start + 1_600).totalHits).toBe(2);
  });
});
