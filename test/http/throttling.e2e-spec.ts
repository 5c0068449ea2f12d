import request from 'supertest';
import { aRegistration } from '@test/factories/user.factory';
import { useTestApp } from '@test/support/test-app';

describe('throttling (e2e)', () => {
  const testApp = useTestApp({
    environment: {
      THROTTLE_LIMIT: '20',
      THROTTLE_TTL_MS: '60000',
      AUTH_THROTTLE_LIMIT: '3',
      AUTH_THROTTLE_TTL_MS: '60000',
      TRUST_PROXY: '127.0.0.1',
    },
  });

  /**
   * Requests from a client address of this test's own (X-Forwarded-For from the trusted
   * loopback), so that each test starts with full buckets whatever ran before it.
   */
  let lastClient = 0;
  const newClient = () => {
    const address = `10.0.0.${++lastClient}`;
    return {
      get: (path: string) => request(testApp.server).get(path).set('X-Forwarded-For', address),
      post: (path: string, body: object) =>
        request(testApp.server).post(path).set('X-Forwarded-For', address).send(body),
    };
  };
  const failedLogin = { username: 'victim', password: 'guess-guess-guess' };

  it('repeated failed logins get 429 with Retry-After', async () => {
    const client = newClient();

    const statuses = [];
    for (let i = 0; i < 4; i++) {
      statuses.push((await client.post('/api/auth/login', failedLogin)).status);
    }
    expect(statuses).toEqual([401, 401, 401, 429]);

    const blocked = await client.post('/api/auth/login', failedLogin).expect(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(blocked.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(blocked.body).toMatchObject({ statusCode: 429, error: 'Too Many Requests' });
  });

  it('login and registration share the stricter limit, per client; other routes do not', async () => {
    const client = newClient();
    for (let i = 0; i < 3; i++) {
      await client.post('/api/auth/login', failedLogin).expect(401);
    }

    await client.post('/api/auth/register', aRegistration()).expect(429);
    await client.get('/api/users/me').expect(401);
    await newClient().post('/api/auth/register', aRegistration()).expect(201);
  });

  it('the default limit covers every other route', async () => {
    const client = newClient();
    const statuses: number[] = [];
    for (let i = 0; i < 22; i++) {
      statuses.push((await client.get('/api/users/me')).status);
    }

    expect(statuses).toEqual([...Array<number>(20).fill(401), 429, 429]);
  });

  it('does not throttle health checks', async () => {
    const client = newClient();
    for (let i = 0; i < 30; i++) {
      await client.get('/health').expect(200);
    }
    // …nor count them: this client's default bucket is still full.
    await client.get('/api/users/me').expect(401);
  });
});
