import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { RedisServerProcess } from '@test/support/redis-server-process';
import { requireTestRedisUrl } from '@test/support/test-redis';
import { startTestApp, TestApp } from '@test/support/test-app';

const LIMIT = 10;

describe('rate limits across instances on one Redis (services)', () => {
  const apps: TestApp[] = [];

  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
  });

  it('two instances share one limit: their successes add up to it', async () => {
    const environment = {
      REDIS_URL: requireTestRedisUrl(),
      REDIS_KEY_PREFIX: `switchboard-test-${randomBytes(4).toString('hex')}:`,
      THROTTLE_LIMIT: String(LIMIT),
    };
    apps.push(await startTestApp({ environment }), await startTestApp({ environment }));

    const statuses: number[] = [];
    for (let i = 0; i < 2 * LIMIT; i++) {
      const app = apps[i % 2];
      statuses.push((await request(app.server).get('/api/users/me')).status);
    }

    expect(statuses.filter((status) => status === 401)).toHaveLength(LIMIT);
    expect(statuses.filter((status) => status === 429)).toHaveLength(LIMIT);
  });
});

describe('rate limits while Redis is down (services)', () => {
  let redis: RedisServerProcess;
  let testApp: TestApp;

  beforeAll(async () => {
    requireTestRedisUrl();
    redis = await RedisServerProcess.start();
    testApp = await startTestApp({
      environment: { REDIS_URL: redis.url, THROTTLE_LIMIT: String(LIMIT) },
    });
  });

  afterAll(async () => {
    await testApp?.close();
    await redis?.stop();
  });

  it('fail open to a per-instance count, and share again when Redis returns', async () => {
    await redis.stop();

    const whileDown: number[] = [];
    for (let i = 0; i < LIMIT + 2; i++) {
      whileDown.push((await request(testApp.server).get('/api/users/me')).status);
    }
    expect(whileDown.slice(0, LIMIT)).toEqual(Array(LIMIT).fill(401));
    expect(whileDown.slice(LIMIT)).toEqual([429, 429]);

    await redis.start();
    const deadline = Date.now() + 10_000;
    let status = 0;
    // Redis's own count starts from zero: the first request it sees is allowed again.
    while (Date.now() < deadline && status !== 401) {
      status = (await request(testApp.server).get('/api/users/me')).status;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).toBe(401);
  });
});
