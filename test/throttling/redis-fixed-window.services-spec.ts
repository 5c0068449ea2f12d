import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { RedisCommands, RedisConnection } from '@libs/redis';
import { RedisFixedWindowCounter } from '@app/throttling/redis-fixed-window.counter';
import { testRedisTarget } from '@test/support/test-redis';

/** On one Redis, and in the cluster pass of test:services on a 3-primary cluster. */
describe('RedisFixedWindowCounter on Redis (services)', () => {
  let connection: RedisConnection;
  let redis: RedisCommands;
  let counter: RedisFixedWindowCounter;
  const prefix = `switchboard-test-${randomBytes(4).toString('hex')}:throttle:`;
  const key = (name: string) => `${prefix}${name}`;

  beforeAll(async () => {
    connection = new RedisConnection({
      ...testRedisTarget(),
      keyPrefix: '',
      commandTimeoutMs: 2000,
    });
    await connection.connect();
    redis = connection.client;
    counter = new RedisFixedWindowCounter(redis);
  });

  afterAll(async () => {
    // Each primary's own keys, one by one: one DEL of several would cross slots on a cluster.
    for (const node of connection.primaries()) {
      for (const found of await node.keys(`{${prefix}*`)) {
        await node.del(found);
      }
    }
    await connection.close();
  });

  it('counts hits in one window, blocks past the limit, and starts over when the block ends', async () => {
    const hit = () => counter.increment(key('client-a'), 60_000, 3, 600, 'default');
    const records = [await hit(), await hit(), await hit(), await hit(), await hit()];

    expect(records.map((record) => [record.totalHits, record.isBlocked])).toEqual([
      [1, false],
      [2, false],
      [3, false],
      [4, true],
      [5, true],
    ]);
    expect(records[0].timeToExpire).toBe(60);
    expect(records[3].timeToBlockExpire).toBe(1);
    // Another key is not affected (positive control that counting goes on).
    expect(await counter.increment(key('client-b'), 60_000, 3, 600, 'default')).toMatchObject({
      totalHits: 1,
      isBlocked: false,
    });

    await sleep(700);

    expect(await hit()).toMatchObject({ totalHits: 1, isBlocked: false, timeToExpire: 60 });
  });

  it('lets a window end on its own: the count starts again from one', async () => {
    const hit = () => counter.increment(key('client-c'), 300, 10, 300, 'default');
    expect((await hit()).totalHits).toBe(1);
    expect((await hit()).totalHits).toBe(2);

    await sleep(400);

    expect(await hit()).toMatchObject({ totalHits: 1, isBlocked: false });
  });

  it('keeps the key names of the library it replaced, in one hash slot per client', async () => {
    await counter.increment(key('client-d'), 60_000, 1, 60_000, 'auth');
    await counter.increment(key('client-d'), 60_000, 1, 60_000, 'auth');

    expect(await redis.get(`{${key('client-d')}:auth}:hits`)).toBe('2');
    expect(await redis.get(`{${key('client-d')}:auth}:blocked`)).toBe('1');
  });
});
