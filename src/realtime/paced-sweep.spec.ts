import { PacedSweep } from './paced-sweep';

const INTERVAL_MS = 30_000;
const TICK_MS = 200;
const TICKS_PER_ROUND = INTERVAL_MS / TICK_MS;
const CONNECTIONS = 15_000;
/** What one tick may touch: the connections spread evenly over the round. */
const PER_TICK = Math.ceil(CONNECTIONS / TICKS_PER_ROUND);

/** A collection of `count` numbered items, and a record of each visit by tick. */
function sweepOf(count: number) {
  const items = new Map(Array.from({ length: count }, (_, index) => [index, index]));
  const visitsPerTick: number[] = [];
  const visitsOf = new Map<number, number>();
  const sweep = new PacedSweep(
    items,
    INTERVAL_MS,
    (item) => {
      visitsPerTick[visitsPerTick.length - 1] += 1;
      visitsOf.set(item, (visitsOf.get(item) ?? 0) + 1);
    },
    TICK_MS,
  );
  /** Runs the timers tick by tick for `ms`, counting each tick's visits apart. */
  const advance = (ms: number) => {
    for (let elapsed = 0; elapsed < ms; elapsed += TICK_MS) {
      visitsPerTick.push(0);
      jest.advanceTimersByTime(TICK_MS);
    }
  };
  return { items, sweep, visitsPerTick, visitsOf, advance };
}

describe(PacedSweep.name, () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('visits 15,000 connections once per interval, at most a 150th of them per tick', () => {
    const { sweep, visitsPerTick, visitsOf, advance } = sweepOf(CONNECTIONS);
    sweep.start();

    advance(INTERVAL_MS);

    expect(visitsPerTick).toHaveLength(TICKS_PER_ROUND);
    expect(Math.max(...visitsPerTick)).toBe(PER_TICK);
    expect(visitsOf.size).toBe(CONNECTIONS);
    expect(Math.max(...visitsOf.values())).toBe(1);

    // The next interval: each once more, still in slices.
    advance(INTERVAL_MS);
    expect(Math.max(...visitsPerTick)).toBe(PER_TICK);
    expect(new Set(visitsOf.values())).toEqual(new Set([2]));
    sweep.stop();
  });

  it('skips a connection removed mid-round and reaches one added mid-round within two intervals', () => {
    const { items, sweep, visitsOf, advance } = sweepOf(CONNECTIONS);
    sweep.start();
    advance(INTERVAL_MS / 2);
    items.delete(CONNECTIONS - 1);
    items.set(CONNECTIONS, CONNECTIONS);

    advance(INTERVAL_MS / 2);
    expect(visitsOf.has(CONNECTIONS - 1)).toBe(false);
    // Every other one present since the start: once.
    const notOnce = [...Array(CONNECTIONS - 1).keys()].filter((item) => visitsOf.get(item) !== 1);
    expect(notOnce).toEqual([]);

    advance(INTERVAL_MS);
    expect(visitsOf.get(CONNECTIONS)).toBeGreaterThanOrEqual(1);
    sweep.stop();
  });
});
