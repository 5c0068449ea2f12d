import request from 'supertest';
import { DataSource } from 'typeorm';
import { User } from '@app/users/user.entity';
import { aRegistration } from '@test/factories/user.factory';
import { parsePrometheusText, sumOf } from '@test/support/prometheus-text';
import { useTestApp } from '@test/support/test-app';
import { WsTestClient } from '@test/support/ws-test-client';

describe('load shedding (e2e)', () => {
  const testApp = useTestApp({ environment: { SHED_MAX_HEAP_USED_BYTES: '1' } });

  beforeAll(async () => {
    // A heap limit of 1 byte: the process counts as saturated from the first sample on.
    await new Promise((resolve) => setTimeout(resolve, 1200));
  });

  it('answers 503 with Retry-After and the error shape, without running the route', async () => {
    const registration = aRegistration();

    const response = await request(testApp.server)
      .post('/api/auth/register')
      .send(registration)
      .expect(503);

    expect(response.headers['retry-after']).toBe('5');
    expect(response.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
    const users = testApp.app.get(DataSource).getRepository(User);
    expect(await users.countBy({ username: registration.username })).toBe(0);
  });

  it('gives the 503 its request id, like every other answer', async () => {
    const response = await request(testApp.server)
      .get('/api/users/me')
      .set('X-Request-Id', 'shed-request-1')
      .expect(503);

    expect(response.headers['x-request-id']).toBe('shed-request-1');
    expect(response.body).toMatchObject({ statusCode: 503, requestId: 'shed-request-1' });
  });

  it('refuses WebSocket upgrades with 503 and Retry-After', async () => {
    const outcome = await WsTestClient.tryConnect(testApp.url, { token: 'not even checked' });

    expect(outcome).toMatchObject({ accepted: false, status: 503 });
    expect(!outcome.accepted && outcome.headers['retry-after']).toBe('5');
  });

  it('turns /health/ready unready but keeps /health and /metrics answering', async () => {
    await request(testApp.server).get('/health/ready').expect(503);
    await request(testApp.server).get('/health').expect(200);

    const metrics = await request(testApp.server).get('/metrics').expect(200);
    const shed = sumOf(parsePrometheusText(metrics.text), 'switchboard_http_requests_shed_total', {
      reason: 'heapUsedBytes',
    });
    expect(shed).toBeGreaterThanOrEqual(2);
  });
});
