import { randomUUID } from 'node:crypto';
import { PresenceStatus } from '@libs/protocol';
import { RedisConnection } from '@libs/redis';
import { LocalPresence, RedisPresenceStore } from '@app/realtime/presence-store';
import { RedisServerProcess } from '@test/support/redis-server-process';
import { requireTestRedisUrl } from '@test/support/test-redis';

/** Well past the store's command timeout: a write sent meanwhile fails. */
const FROZEN_MS = 500;

/**
 * A presence write that timed out is not lost, whether or not Redis ran it after all: the store
 * writes what the instance holds on its next beat and announces the state it finds then. On a
 * redis-server of the suite's own, frozen with SIGSTOP for a moment and thawed, its data kept.
 */
describe('presence store: a timed-out write is made good on the next beat (services)', () => {
  let redis: RedisServerProcess;
  let connection: RedisConnection | undefined;

  beforeAll(async () => {
    requireTestRedisUrl();
    redis = await RedisServerProcess.start();
  });

  afterAll(async () => {
    await connection?.close();
    await redis?.stop();
  });

  it('announces online once the entry that timed out is written, and offline when it goes', async () => {
    connection = new RedisConnection({ url: redis.url, keyPrefix: `retry-${randomUUID()}:` });
    await connection.connect();
    const roomId = randomUUID();
    const userId = randomUUID();
    let held = false;
    const local: LocalPresence = {
      holds: () => held,
      pairs: () => (held ? [[roomId, userId] as const] : []),
    };
    const store = new RedisPresenceStore(connection, 'instance', local, {
      heartbeatIntervalMs: 1_000,
      instanceTtlMs: 4_000,
    });
    const heard: PresenceStatus[] = [];
    store.onChange((_roomId, _userId, status) => heard.push(status));
    await store.beat();
    // Redis knows the script now: the write below reaches it and runs once it is thawed.
    expect(await store.exit(randomUUID(), userId)).toBe(false);

    held = true;
    redis.pause();
    const entering = store.enter(roomId, userId);
    await new Promise((resolve) => setTimeout(resolve, FROZEN_MS));
    redis.resume();
    // Its outcome unknown here (Redis ran it later): nobody was told.
    expect(await entering).toBe(false);
    expect(heard).toEqual([]);

    await store.beat();
    expect(heard).toEqual(['online']);
    // Written for real: the last one leaving is the fleet's last, once.
    held = false;
    expect(await store.exit(roomId, userId)).toBe(true);
    await store.beat();
    expect(heard).toEqual(['online']);
  });
});
