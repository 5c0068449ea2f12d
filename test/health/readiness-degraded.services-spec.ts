import request from 'supertest';
import { RedisServerProcess } from '@test/support/redis-server-process';
import { requireTestRedisUrl } from '@test/support/test-redis';
import { startTestApp, TestApp } from '@test/support/test-app';
import { waitUntil } from '@test/support/wait-until';

describe('readiness while Redis is down (services)', () => {
  let redis: RedisServerProcess;
  let testApp: TestApp;

  beforeAll(async () => {
    requireTestRedisUrl();
    redis = await RedisServerProcess.start();
    testApp = await startTestApp({ environment: { REDIS_URL: redis.url } });
  });

  afterAll(async () => {
    await testApp?.close();
    await redis?.stop();
  });

  const readiness = () => request(testApp.server).get('/health/ready');

  it('stays ready, names the bus as degraded, and recovers when Redis returns', async () => {
    expect((await readiness().expect(200)).body.degraded).toEqual([]);

    await redis.stop();
    await waitUntil(
      async () => (await readiness()).body.degraded?.includes('bus') === true,
      5000,
      'the bus to be reported degraded',
    );
    const degraded = await readiness().expect(200);
    expect(degraded.body.details.bus).toMatchObject({ status: 'up', degraded: true });

    await redis.start();
    await waitUntil(
      async () => (await readiness()).body.degraded?.length === 0,
      10_000,
      'the bus to recover',
    );
  });
});
