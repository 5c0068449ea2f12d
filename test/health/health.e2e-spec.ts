import request from 'supertest';
import { DataSource } from 'typeorm';
import { startTestApp, TestApp } from '@test/support/test-app';

describe('health (e2e)', () => {
  let testApp: TestApp;

  beforeAll(async () => {
    testApp = await startTestApp();
  });

  afterAll(async () => {
    await testApp?.close();
  });

  it('/health answers while the process lives', async () => {
    await request(testApp.server).get('/health').expect(200, { status: 'ok' });
  });

  it('/health/ready reports the database, and the bus when it runs on Redis', async () => {
    const response = await request(testApp.server).get('/health/ready').expect(200);

    expect(response.body.status).toBe('ok');
    expect(response.body.details.database).toEqual({ status: 'up' });
    if (testApp.config.redis.url) {
      expect(response.body.details.bus).toMatchObject({ status: 'up', transport: 'redis' });
    } else {
      expect(response.body.details.bus).toBeUndefined();
    }
  });

  it('/health/ready is 503 naming the database when it is gone', async () => {
    const dataSource = testApp.app.get(DataSource);
    await dataSource.destroy();
    try {
      const response = await request(testApp.server).get('/health/ready').expect(503);
      expect(response.body).toMatchObject({
        status: 'error',
        error: { database: { status: 'down' } },
      });
    } finally {
      await dataSource.initialize();
    }
  });
});
