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
      postRaw: (path: string, body: string, contentType: string) =>
        request(testApp.server)
          .post(path)
          .set('X-Forwarded-For', address)
          .set('Content-Type', contentType)
          .send(body),
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

  it('counts bodies refused before routing (malformed, not JSON): their 400s carry the limits, then 429', async () => {
    const client = newClient();
    const answers: request.Response[] = [];
    for (let i = 0; i < 10; i++) {
      answers.push(await client.postRaw('/api/rooms', '{"name": ', 'application/json'));
      answers.push(
        await client.postRaw('/api/rooms', 'name=x', 'application/x-www-form-urlencoded'),
      );
    }
    expect(answers.map((answer) => answer.status)).toEqual(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? 400 : 415)),
    );
    expect(answers.map((answer) => Number(answer.headers['x-ratelimit-remaining']))).toEqual(
      Array.from({ length: 20 }, (_, i) => 19 - i),
    );
    expect(answers[0].headers['x-ratelimit-limit']).toBe('20');
    expect(Number(answers[0].headers['x-ratelimit-reset'])).toBeGreaterThan(0);

    const blocked = await client.postRaw('/api/rooms', '{"name": ', 'application/json');
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    // The same client's well-formed requests are past the limit too.
    await client.get('/api/users/me').expect(429);
  });

  it('a malformed login counts against the auth limit and says so in its headers', async () => {
    const client = newClient();
    const statuses: number[] = [];
    let first: request.Response | undefined;
    for (let i = 0; i < 4; i++) {
      const answer = await client.postRaw('/api/auth/login', '{"username"', 'application/json');
      first ??= answer;
      statuses.push(answer.status);
    }
    expect(statuses).toEqual([400, 400, 400, 429]);
    expect(first?.headers['x-ratelimit-limit-auth']).toBe('3');
    expect(first?.headers['x-ratelimit-remaining-auth']).toBe('2');
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
