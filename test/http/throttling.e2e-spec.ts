import request from 'supertest';
import { aRegistration } from '@test/factories/user.factory';
import { startTestApp, TestApp } from '@test/support/test-app';

describe('throttling (e2e)', () => {
  let testApp: TestApp;

  beforeAll(async () => {
    testApp = await startTestApp({
      environment: {
        THROTTLE_LIMIT: '20',
        THROTTLE_TTL_MS: '60000',
        AUTH_THROTTLE_LIMIT: '3',
        AUTH_THROTTLE_TTL_MS: '60000',
      },
    });
  });

  afterAll(async () => {
    await testApp?.close();
  });

  const http = () => request(testApp.server);

  it('repeated failed logins get 429 with Retry-After', async () => {
    const attempt = () =>
      http().post('/api/auth/login').send({ username: 'victim', password: 'guess-guess-guess' });

    const statuses = [];
    for (let i = 0; i < 4; i++) {
      statuses.push((await attempt()).status);
    }
    expect(statuses).toEqual([401, 401, 401, 429]);

    const blocked = await attempt().expect(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(blocked.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(blocked.body).toMatchObject({ statusCode: 429, error: 'Too Many Requests' });
  });

  it('login and registration share the stricter limit; other routes do not', async () => {
    const register = await http().post('/api/auth/register').send(aRegistration());
    expect(register.status).toBe(429);

    await http().get('/api/users/me').expect(401);
  });

  it('the default limit covers every other route', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) {
      statuses.push((await http().get('/api/users/me')).status);
    }

    expect(statuses).toContain(429);
    expect(statuses.indexOf(429)).toBeGreaterThan(0);
  });

  it('does not throttle health checks', async () => {
    for (let i = 0; i < 30; i++) {
      await http().get('/health').expect(200);
    }
  });
});
