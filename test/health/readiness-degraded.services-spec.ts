import request from 'supertest';
import { parsePrometheusText, sumOf } from '@test/support/prometheus-text';
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
  /** What /metrics says of the instance's state and Redis. */
  const metrics = async () => {
    const samples = parsePrometheusText((await request(testApp.server).get('/metrics')).text);
    const state = samples.find(
      (sample) => sample.name === 'switchboard_instance_state' && sample.value === 1,
    )?.labels.state;
    const redisUp = sumOf(samples, 'switchboard_dependency_up', { dependency: 'redis' });
    return { state, redisUp, breakerOpen: sumOf(samples, 'switchboard_redis_breaker_open') };
  };

  it('stays ready, names the bus as degraded, and recovers when Redis returns', async () => {
    expect((await readiness().expect(200)).body.degraded).toEqual([]);
    expect(await metrics()).toEqual({ state: 'ready', redisUp: 1, breakerOpen: 0 });

    await redis.stop();
    await waitUntil(
      async () => (await readiness()).body.degraded?.includes('bus') === true,
      5000,
      'the bus to be reported degraded',
    );
    const degraded = await readiness().expect(200);
    expect(degraded.body.details.bus).toMatchObject({ status: 'up', degraded: true });
    // The metrics read the same evaluation.
    expect((await metrics()).state).toBe('degraded');
    expect((await metrics()).redisUp).toBe(0);

    await redis.start();
    await waitUntil(
      async () => (await readiness()).body.degraded?.length === 0,
      10_000,
      'the bus to recover',
    );
    await waitUntil(
      async () => (await metrics()).state === 'ready',
      10_000,
      'the metrics to say ready again',
    );
    expect(await metrics()).toEqual({ state: 'ready', redisUp: 1, breakerOpen: 0 });
  });
});
