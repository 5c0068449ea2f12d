import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { CacheMetrics, RedisCacheTier, RedisKeyvStore } from '@libs/cache';
import { RedisConnection } from '@libs/redis';
import { LocalPresence, RedisPresenceStore } from '@app/realtime/presence-store';
import { RedisFixedWindowCounter } from '@app/throttling/redis-fixed-window.counter';
import { RedisClusterProcess, slotOf } from '@test/support/redis-cluster-process';
import { requireTestRedisUrl } from '@test/support/test-redis';

/**
 * Every key family of the app on a real 3-primary cluster: a command or script whose keys span
 * slots fails there (CROSSSLOT from Redis, or ioredis refusing a pipeline), so each family's
 * operations succeeding is the proof; the keys it left are then read from every primary and
 * checked to fall where the layout says.
 */
describe('Key families on a Redis Cluster: no command crosses slots (services)', () => {
  let cluster: RedisClusterProcess;
  let connection: RedisConnection;
  let keyPrefix: string;

  /** Every key under the suite's prefix, from every primary. */
  async function keysOnCluster(): Promise<string[]> {
    const keys: string[] = [];
    for (const primary of await cluster.primaries()) {
      const client = new Redis(primary.port, '127.0.0.1', { lazyConnect: true });
      try {
        await client.connect();
        keys.push(...(await client.keys(`*${keyPrefix}*`)));
      } finally {
        client.disconnect();
      }
    }
    return keys;
  }

  beforeAll(async () => {
    requireTestRedisUrl();
    Logger.overrideLogger(false);
    cluster = await RedisClusterProcess.start({ primaries: 3 });
  });

  beforeEach(async () => {
    keyPrefix = `keys-${randomUUID().slice(0, 8)}:`;
    connection = new RedisConnection({ clusterNodes: cluster.nodes, keyPrefix });
    await connection.connect();
    expect(connection.available).toBe(true);
  });

  afterEach(() => connection.close());

  afterAll(() => cluster?.stop());

  it("cache: a room's generations and entries share its slot; reads, writes and invalidations succeed", async () => {
    const metrics = new CacheMetrics();
    const tier = new RedisCacheTier(connection, metrics);
    const rooms = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    for (const room of rooms) {
      const tags = [`room:${room}`, `room:${room}:details`];
      const generations = await tier.generations(tags);
      expect(generations).toEqual(['0', '0', '0']);
      expect(await tier.set('details', tags, generations!, { room }, 60_000)).toBe('stored');
      expect(await tier.get('details', tags, generations!)).toMatchObject({ value: { room } });
      expect(await tier.invalidate([`room:${room}:details`, `room:${room}:messages`])).toBe('done');
      expect(await tier.generations(tags)).toEqual(['0', '0', '1']);
    }
    expect(metrics.snapshot().tiers.redis.errors).toBe(0);

    const keys = await keysOnCluster();
    for (const room of rooms) {
      const roomKeys = keys.filter((key) => key.includes(room));
      // The entry and the two counters that moved (details, messages), all in the room's slot.
      expect(roomKeys).toHaveLength(3);
      expect(new Set(roomKeys.map((key) => slotOf(key)))).toEqual(
        new Set([slotOf(`${keyPrefix}{room:${room}}:`)]),
      );
    }
    // Rooms are spread: four random rooms on one primary would be a layout that pins them.
    expect(new Set(rooms.map((room) => slotOf(`{room:${room}}`))).size).toBe(4);
  });

  it('cache-manager store: set, get and clear on every primary', async () => {
    const store = new RedisKeyvStore(connection, `${keyPrefix}cache:kv:`);
    const names = Array.from({ length: 30 }, (_, index) => `key-${index}`);
    for (const name of names) {
      expect(await store.set(name, { name }, 60_000)).toBe(true);
    }
    expect(await store.get(names[7])).toBe(JSON.stringify({ name: names[7] }));
    const before = await keysOnCluster();
    // Spread over the primaries, so the clear has to visit each.
    expect(new Set(before.map((key) => slotOf(key))).size).toBeGreaterThan(3);

    await store.clear();

    expect(before).toHaveLength(30);
    expect(await keysOnCluster()).toEqual([]);
  });

  it('presence: every key in one slot; enter, exit and a dead instance reaped', async () => {
    const held = new Set<string>();
    const local = (): LocalPresence => ({
      holds: (room, user) => held.has(`${room}:${user}`),
      pairs: () => [...held].map((pair) => pair.split(':') as [string, string]),
    });
    const options = { heartbeatIntervalMs: 1_000, instanceTtlMs: 2_000 };
    const survivor = new RedisPresenceStore(connection, 'survivor', local(), options);
    const doomed = new RedisPresenceStore(connection, 'doomed', local(), options);
    const offline: string[] = [];
    survivor.onChange((room, user, status) => offline.push(`${room}:${user}:${status}`));
    await survivor.beat();
    await doomed.beat();
    const [room, user] = [randomUUID(), randomUUID()];
    held.add(`${room}:${user}`);

    expect(await doomed.enter(room, user)).toBe(true);
    expect(await survivor.enter(randomUUID(), user)).toBe(true);
    expect(await survivor.exit(randomUUID(), user)).toBe(false);

    const keys = await keysOnCluster();
    expect(new Set(keys.map((key) => slotOf(key)))).toEqual(
      new Set([slotOf(`${keyPrefix}{presence}:`)]),
    );
    // The doomed instance stops beating; the survivor reaps what it held.
    await new Promise((resolve) => setTimeout(resolve, options.instanceTtlMs + 200));
    await survivor.beat();
    expect(offline).toEqual([`${room}:${user}:offline`]);
  });

  it('rate limits: each counter in its own slot, counted and blocked', async () => {
    const counter = new RedisFixedWindowCounter(connection.client);
    const clients = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'];
    for (const client of clients) {
      const key = `${keyPrefix}throttle:${client}`;
      expect(await counter.increment(key, 60_000, 2, 60_000, 'default')).toMatchObject({
        totalHits: 1,
        isBlocked: false,
      });
      await counter.increment(key, 60_000, 2, 60_000, 'default');
      expect(await counter.increment(key, 60_000, 2, 60_000, 'default')).toMatchObject({
        totalHits: 3,
        isBlocked: true,
      });
    }
    const slots = new Set((await keysOnCluster()).map((key) => slotOf(key)));
    // hits and blocked of one client share a slot; the clients are spread.
    expect(slots.size).toBe(clients.length);
  });
});
