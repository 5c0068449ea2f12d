import { randomUUID } from 'node:crypto';
import calculateSlot from 'cluster-key-slot';
import { RedisConnection } from './redis-connection';

const ROOMS = 10_000;
const SLOTS = 16_384;

/** The primary that serves `slot` when `primaries` split the slots as `redis-cli --cluster create` does. */
function primaryOf(slot: number, primaries: number): number {
  return Math.min(primaries - 1, Math.floor((slot * primaries) / SLOTS));
}

/** Keys per primary, for each of `primaries`. */
function spread(keys: string[], primaries: number): number[] {
  const counts = new Array<number>(primaries).fill(0);
  for (const key of keys) {
    counts[primaryOf(calculateSlot(key), primaries)] += 1;
  }
  return counts;
}

describe('How the keys of 10,000 rooms fall over the primaries of a cluster', () => {
  // Never connected: only its key layout is read.
  const cluster = new RedisConnection({ clusterNodes: ['127.0.0.1:7000'], keyPrefix: 'app:' });
  const rooms = Array.from({ length: ROOMS }, () => randomUUID());

  afterAll(() => cluster.close());

  it("keeps a room's cache keys in one slot, and rooms apart", () => {
    const group = cluster.slotGroup('room:abc');

    expect(group).toBe('app:{room:abc}:');
    expect(calculateSlot(`${group}cache:gen:room:abc:details`)).toBe(
      calculateSlot(`${group}cache:entry:1.2.3:GET /api/rooms/abc`),
    );
    expect(calculateSlot(cluster.slotGroup('room:abd'))).not.toBe(calculateSlot(group));
  });

  it.each([3, 16])(
    "spreads the rooms' cache slots, relay channels and rate-limit keys evenly over %i primaries",
    (primaries) => {
      const mean = ROOMS / primaries;
      const families = {
        cache: rooms.map((room) => `${cluster.slotGroup(`room:${room}`)}cache:gen:room:${room}`),
        relay: rooms.map((room) => `app:relay:room:${room}`),
        // One client address per room, as many keys as rooms.
        rateLimit: rooms.map(
          (_, index) => `{app:throttle:10.0.${index >> 8}.${index & 255}:default}:hits`,
        ),
      };
      const shares = Object.entries(families).map(([family, keys]) => {
        const counts = spread(keys, primaries);
        return [family, Math.min(...counts) / mean, Math.max(...counts) / mean] as const;
      });
      // Within 15 % of the mean on every primary (a binomial spread is a few % here): no idle
      // primary, none with twice its share, as a handful of distinct hash tags would give.
      for (const [family, least, most] of shares) {
        expect({ family, least: least > 0.85, most: most < 1.15 }).toEqual({
          family,
          least: true,
          most: true,
        });
      }
    },
  );

  it('fails the check for a layout that puts every room in one slot (the control)', () => {
    const counts = spread(
      rooms.map((room) => `{app:cache}:gen:room:${room}`),
      3,
    );

    expect(counts.filter((count) => count === 0)).toHaveLength(2);
  });

  it('keeps the names of one Redis as they were before clusters', () => {
    const single = new RedisConnection({ url: 'redis://127.0.0.1:6379', keyPrefix: 'app:' });

    expect(single.slotGroup('room:abc')).toBe('app:');
    return single.close();
  });
});
