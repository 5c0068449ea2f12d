import request from 'supertest';
import { startTestApp, TestApp } from '@test/support/test-app';

describe('health (e2e)', () => {
  let testApp: TestApp;

  beforeAll(async () => {
    testApp = await startTestApp();
  });

  afterAll(async () => {
    await testApp?.close();
  });

  it('answers liveness', async () => {
    await request(testApp.server).get('/health').expect(200, { status: 'ok' });
  });

  it('reports the database, and the bus when it runs on Redis', async () => {
    const response = await request(testApp.server).get('/health/ready').expect(200);

    expect(response.body.status).toBe('ok');
    expect(response.body.details.database).toEqual({ status: 'up' });
    if (testApp.config.redis.url) {
      expect(response.body.details.bus).toMatchObject({ status: 'up', transport: 'redis' });
    } else {
      expect(response.body.details.bus).toBeUndefined();
    }
  });
});
