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

  it('/health/ready reports the database up', async () => {
    const response = await request(testApp.server).get('/health/ready').expect(200);

    expect(response.body).toMatchObject({ status: 'ok', info: { database: { status: 'up' } } });
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
