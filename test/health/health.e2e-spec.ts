import request from 'supertest';
import { DataSource } from 'typeorm';
import { AccessTokenGuard } from '@app/auth/access-token.guard';
import { useTestApp } from '@test/support/test-app';

describe('health (e2e)', () => {
  const testApp = useTestApp();

  it('/health answers while the process lives', async () => {
    await request(testApp.server).get('/health').expect(200, { status: 'ok' });
  });

  it('/health is answered before routing, with the headers of any answer; HEAD is routed', async () => {
    // Nest's route runs the global guards first; a request answered before routing runs none.
    const routed = jest.spyOn(AccessTokenGuard.prototype, 'canActivate');
    try {
      const response = await request(testApp.server).get('/health').expect(200, { status: 'ok' });
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(routed).not.toHaveBeenCalled();
      // Positive control: the spy sees the route when Nest runs it.
      await request(testApp.server).head('/health').expect(200);
      expect(routed).toHaveBeenCalledTimes(1);
    } finally {
      routed.mockRestore();
    }
  });

  it('/health/ready reports the database, and the bus when it runs on Redis', async () => {
    const response = await request(testApp.server).get('/health/ready').expect(200);

    expect(response.body.status).toBe('ok');
    // On PostgreSQL it says whether application queries wait for the pool (not a failure).
    expect(response.body.details.database).toEqual(
      testApp.config.database.type === 'postgres'
        ? { status: 'up', busy: false }
        : { status: 'up' },
    );
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
