import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { DEFAULT_REDIS_COMMAND_TIMEOUT_MS } from '@libs/redis';
import { bearer, registerUser } from '@test/support/auth-helpers';
import { RedisServerProcess } from '@test/support/redis-server-process';
import { createRoom, postMessage } from '@test/support/room-helpers';
import { requireTestRedisUrl } from '@test/support/test-redis';
import { startTestApp, TestApp } from '@test/support/test-app';
import { waitUntil } from '@test/support/wait-until';
import { WsTestClient } from '@test/support/ws-test-client';

const READS = 30;
const UPGRADES = 10;

function p95(durations: number[]): number {
  const sorted = [...durations].sort((a, b) => a - b);
  return sorted[Math.ceil(sorted.length * 0.95) - 1];
}

/**
 * Redis connected but not answering (SIGSTOP): once the one circuit breaker has opened, no
 * request waits for Redis any more (rate limits, cache, bus and presence all fail fast), so HTTP
 * reads and WebSocket upgrades take their normal time and succeed from the database. A request
 * that still waited for Redis would take at least one command timeout.
 */
describe('Redis hanging (services)', () => {
  let redis: RedisServerProcess;
  let testApp: TestApp;

  beforeAll(async () => {
    requireTestRedisUrl();
    redis = await RedisServerProcess.start();
    testApp = await startTestApp({
      environment: {
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: `switchboard-test-${randomBytes(4).toString('hex')}:`,
      },
    });
  });

  afterAll(async () => {
    redis?.resume();
    await testApp?.close();
    await redis?.stop();
  });

  const readiness = async () =>
    (await request(testApp.server).get('/health/ready').expect(200)).body as {
      degraded: string[];
      info: { cache: { redis: string } };
    };

  it('after the breaker opens, reads and upgrades stay fast and succeed; it closes when Redis answers', async () => {
    const alice = await registerUser(testApp);
    const room = await createRoom(testApp, alice);
    await postMessage(testApp, alice, room.id, { body: 'stored in the database' });
    let page = 0;
    /** A read the cache has not seen (a new `limit`), so it asks Redis, then the database. */
    const timedRead = async () => {
      page += 1;
      const started = performance.now();
      const response = await request(testApp.server)
        .get(`/api/rooms/${room.id}/messages`)
        .query({ limit: page })
        .set(bearer(alice.accessToken))
        .expect(200);
      expect(response.body.items).toHaveLength(1);
      return performance.now() - started;
    };
    const timedUpgrade = async () => {
      const started = performance.now();
      const client = await WsTestClient.connect(testApp.url, { token: alice.accessToken });
      const duration = performance.now() - started;
      await client.closeAndWait();
      return duration;
    };
    expect((await readiness()).degraded).toEqual([]);

    redis.pause();
    // The first requests find out: each pays a command timeout until the circuit opens.
    await waitUntil(
      async () => {
        await timedRead();
        return (await readiness()).degraded.includes('cache');
      },
      10_000,
      'the circuit to open',
    );

    const reads: number[] = [];
    for (let index = 0; index < READS; index += 1) {
      reads.push(await timedRead());
    }
    const upgrades: number[] = [];
    for (let index = 0; index < UPGRADES; index += 1) {
      upgrades.push(await timedUpgrade());
    }
    expect(p95(reads)).toBeLessThan(DEFAULT_REDIS_COMMAND_TIMEOUT_MS);
    expect(p95(upgrades)).toBeLessThan(DEFAULT_REDIS_COMMAND_TIMEOUT_MS);

    redis.resume();
    await waitUntil(
      async () => {
        const ready = await readiness();
        return ready.degraded.length === 0 && ready.info.cache.redis === 'up';
      },
      10_000,
      'the circuit to close again',
    );
  });
});
