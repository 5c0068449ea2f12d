import { request as httpRequest } from 'node:http';
import request from 'supertest';
import { ConnectionRegistry } from '@app/realtime/connection-registry';
import { registerUser } from '@test/support/auth-helpers';
import { NginxProcess } from '@test/support/nginx-process';
import { parsePrometheusText, sumOf } from '@test/support/prometheus-text';
import { requireTestRedisUrl } from '@test/support/test-redis';
import { createRoom, postMessage } from '@test/support/room-helpers';
import { startTestFleet, TestApp, TestFleet } from '@test/support/test-app';
import { waitUntil } from '@test/support/wait-until';
import { WsTestClient } from '@test/support/ws-test-client';

const LIMIT = 6;

/** A GET through nginx from a given local address (each one is another client to nginx). */
function getFrom(localAddress: string, url: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const target = new URL(path, url);
    const call = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        localAddress,
        agent: false,
      },
      (response) => {
        response.resume();
        response.once('end', () => resolve(response.statusCode ?? 0));
      },
    );
    call.once('error', reject);
    call.end();
  });
}

async function healthRequestsServedBy(app: TestApp): Promise<number> {
  const metrics = await request(app.server).get('/metrics').expect(200);
  return sumOf(
    parsePrometheusText(metrics.text),
    'switchboard_http_request_duration_seconds_count',
    {
      route: '/health',
    },
  );
}

describe('two instances behind nginx (services)', () => {
  let fleet: TestFleet;
  let nginx: NginxProcess;

  beforeAll(async () => {
    requireTestRedisUrl();
    fleet = await startTestFleet(2, {
      environment: { TRUST_PROXY: '127.0.0.1', THROTTLE_LIMIT: String(LIMIT) },
    });
    nginx = await NginxProcess.start(fleet.apps.map((app) => Number(new URL(app.url).port)));
  });

  afterAll(async () => {
    await nginx?.stop();
    await fleet?.close();
  });

  it('spreads HTTP requests round-robin over both instances', async () => {
    const before = await Promise.all(fleet.apps.map(healthRequestsServedBy));

    for (let i = 0; i < 20; i++) {
      expect(await getFrom('127.0.0.1', nginx.url, '/health')).toBe(200);
    }

    const after = await Promise.all(fleet.apps.map(healthRequestsServedBy));
    const served = after.map((count, i) => count - before[i]);
    expect(served[0] + served[1]).toBe(20);
    expect(served[0]).toBeGreaterThanOrEqual(8);
    expect(served[1]).toBeGreaterThanOrEqual(8);
  });

  it('a WebSocket client behind nginx gets a message posted through the other instance', async () => {
    const author = await registerUser(fleet.apps[0]);
    const room = await createRoom(fleet.apps[0], author);
    const registries = fleet.apps.map((app) => app.app.get(ConnectionRegistry));
    const before = registries.map((registry) => registry.size);

    const client = await WsTestClient.connect(nginx.url, { token: author.accessToken });
    try {
      // Which instance nginx chose (least_conn): the one with a new connection.
      const gained = () => registries.findIndex((registry, i) => registry.size > before[i]);
      await waitUntil(() => gained() >= 0, 5000, 'the connection to reach an instance');
      const other = fleet.apps[1 - gained()];
      await client.request('join', { roomId: room.id }, 'joined');

      const posted = await postMessage(other, author, room.id);

      expect((await client.next('message')).data).toMatchObject({ id: posted.id, roomId: room.id });
    } finally {
      await client.closeAndWait();
    }
  });

  it('logs WebSocket upgrades without their query string: no token in the access log', async () => {
    const user = await registerUser(fleet.apps[0]);

    const client = await WsTestClient.connect(nginx.url, {
      token: user.accessToken,
      tokenInQuery: true,
    });
    await client.closeAndWait();

    await waitUntil(
      () => nginx.accessLog().includes('"GET /ws HTTP/1.1" 101'),
      5000,
      'the upgrade in the access log',
    );
    expect(nginx.accessLog()).not.toContain(user.accessToken);
    expect(nginx.accessLog()).not.toContain('token=');
  });

  it('rate-limits each client by its own address, across both instances', async () => {
    const first: number[] = [];
    for (let i = 0; i < LIMIT + 2; i++) {
      first.push(await getFrom('127.0.0.2', nginx.url, '/api/users/me'));
    }
    expect(first.slice(0, LIMIT)).toEqual(Array(LIMIT).fill(401));
    expect(first.slice(LIMIT)).toEqual([429, 429]);

    // Another client behind the same nginx is not affected.
    expect(await getFrom('127.0.0.3', nginx.url, '/api/users/me')).toBe(401);
  });
});
