import request from 'supertest';
import { startTestApp, useTestApp } from '@test/support/test-app';

describe('HTTP basics (e2e)', () => {
  const testApp = useTestApp({ environment: { CORS_ORIGINS: 'https://app.example.com' } });

  const http = () => request(testApp.server);

  it('serves the API under /api and health at the root', async () => {
    await http().get('/health').expect(200, { status: 'ok' });
    await http().get('/api/health').expect(404);
    await http().get('/users/me').expect(404);
  });

  it('answers an unknown route with the error shape', async () => {
    const response = await http().get('/api/no-such-route').expect(404);

    expect(response.body).toEqual({
      statusCode: 404,
      error: 'Not Found',
      message: expect.any(String),
      requestId: expect.any(String),
    });
  });

  it('answers malformed JSON with 400', async () => {
    const response = await http()
      .post('/api/auth/login')
      .set('Content-Type', 'application/json')
      .send('{"username": "alice", ')
      .expect(400);

    expect(response.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
  });

  it('answers a body over 1 MiB with 413', async () => {
    const response = await http()
      .post('/api/auth/login')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ username: 'alice', password: 'x'.repeat(1_100_000) }))
      .expect(413);

    expect(response.body).toMatchObject({ statusCode: 413, error: 'Payload Too Large' });
  });

  it('gives every response a request id, keeping a well-formed incoming one', async () => {
    const generated = await http().get('/health').expect(200);
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);

    const kept = await http().get('/health').set('X-Request-Id', 'trace-abc.123').expect(200);
    expect(kept.headers['x-request-id']).toBe('trace-abc.123');

    const replaced = await http().get('/health').set('X-Request-Id', 'bad id <script>').expect(200);
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);

    const failed = await http().get('/api/users/me').set('X-Request-Id', 'trace-401').expect(401);
    expect(failed.body.requestId).toBe('trace-401');
  });

  it('sets the security headers of helmet', async () => {
    const response = await http().get('/health').expect(200);

    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(response.headers['strict-transport-security']).toBeDefined();
  });

  it('allows CORS for the configured origins only', async () => {
    const allowed = await http()
      .options('/api/auth/login')
      .set('Origin', 'https://app.example.com')
      .set('Access-Control-Request-Method', 'POST')
      .expect(204);
    expect(allowed.headers['access-control-allow-origin']).toBe('https://app.example.com');

    const other = await http()
      .options('/api/auth/login')
      .set('Origin', 'https://evil.example.net')
      .set('Access-Control-Request-Method', 'POST');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('CORS with no CORS_ORIGINS (e2e)', () => {
  it('sends no CORS headers, so only same-origin pages and non-browser clients are served', async () => {
    const testApp = await startTestApp();
    try {
      const response = await request(testApp.server)
        .get('/health')
        .set('Origin', 'https://app.example.com')
        .expect(200);
      expect(response.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await testApp.close();
    }
  });
});
