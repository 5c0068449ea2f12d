import { CloseCode } from '@libs/client';
import { registerUser, RegisteredUser } from '@test/support/auth-helpers';
import { startTestApp, useTestApp } from '@test/support/test-app';
import { sleep } from '@test/support/wait-until';
import { WsTestClient } from '@test/support/ws-test-client';

describe('WebSocket gateway: connection, frames and protection (e2e)', () => {
  const testApp = useTestApp({
    environment: {
      CORS_ORIGINS: 'https://app.example.com',
      WS_MAX_PAYLOAD: '1024',
      WS_MESSAGE_RATE: '5',
    },
  });
  let url: string;
  let alice: RegisteredUser;
  const clients: WsTestClient[] = [];

  const connect = async (token = alice.accessToken) => {
    const client = await WsTestClient.connect(url, { token });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    url = testApp.url;
    alice = await registerUser(testApp);
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.closeAndWait()));
  });

  describe('upgrade', () => {
    it('accepts a token in the Authorization header or in ?token=', async () => {
      const byHeader = await connect();
      const byQuery = await WsTestClient.connect(url, {
        token: alice.accessToken,
        tokenInQuery: true,
      });
      clients.push(byQuery);

      expect((await byHeader.request('ping', {}, 'pong')).data).toEqual({});
      expect((await byQuery.request('ping', {}, 'pong')).data).toEqual({});
    });

    it.each([
      ['no token', undefined],
      ['a malformed token', 'not-a-jwt'],
    ])('refuses %s with 401 and no upgrade', async (_case, token) => {
      const outcome = await WsTestClient.tryConnect(url, { token });

      expect(outcome).toMatchObject({ accepted: false, status: 401 });
    });

    it('refuses a foreign Origin with 403, accepts a configured one and no Origin', async () => {
      const foreign = await WsTestClient.tryConnect(url, {
        token: alice.accessToken,
        origin: 'https://evil.example.net',
      });
      expect(foreign).toMatchObject({ accepted: false, status: 403 });

      const configured = await WsTestClient.tryConnect(url, {
        token: alice.accessToken,
        origin: 'https://app.example.com',
      });
      expect(configured.accepted).toBe(true);
      if (configured.accepted) {
        clients.push(configured.client);
      }
    });

    it('accepts a same-origin page when the Origin is the server itself', async () => {
      const sameOrigin = await WsTestClient.tryConnect(url, {
        token: alice.accessToken,
        origin: url,
      });

      expect(sameOrigin.accepted).toBe(true);
      if (sameOrigin.accepted) {
        clients.push(sameOrigin.client);
      }
    });
  });

  describe('frames', () => {
    it('echoes the ref of a frame on its answer', async () => {
      const client = await connect();

      client.send('ping', {}, 'r-1');

      expect(await client.next('pong')).toEqual({ event: 'pong', data: {}, ref: 'r-1' });
    });

    it.each([
      ['bad JSON', '{"event": "ping", ', 'bad_json'],
      ['a frame that is not an object', '[1, 2]', 'bad_frame'],
      ['a frame without an event', '{"data": {}}', 'bad_frame'],
      ['an unknown event', '{"event": "teleport", "data": {}, "ref": "x"}', 'unknown_event'],
      ['invalid data', '{"event": "auth", "data": {"token": 42}, "ref": "y"}', 'invalid_data'],
      [
        'an unexpected field',
        '{"event": "auth", "data": {"token": "t", "admin": true}}',
        'invalid_data',
      ],
    ])('answers %s with an error and keeps the socket open', async (_case, frame, code) => {
      const client = await connect();

      client.sendUnchecked(frame);

      const error = await client.next('error');
      expect(error.data.code).toBe(code);
      expect(typeof error.data.message).toBe('string');
      expect((await client.request('ping', {}, 'pong')).event).toBe('pong');
    });

    it('closes with 1009 a frame over WS_MAX_PAYLOAD', async () => {
      const client = await connect();

      client.sendUnchecked({ event: 'ping', data: { padding: 'x'.repeat(2048) } });

      expect((await client.closed).code).toBe(CloseCode.MessageTooBig);
    });
  });

  describe('rate limit', () => {
    it('answers a flood with rate_limited errors, then closes with 1008', async () => {
      const client = await connect();

      for (let i = 0; i < 40; i++) {
        client.send('ping', {});
      }

      expect((await client.next('error')).data.code).toBe('rate_limited');
      expect((await client.closed).code).toBe(CloseCode.PolicyViolation);
    });

    it('a client within the rate is never limited', async () => {
      const client = await connect();

      for (let i = 0; i < 8; i++) {
        expect((await client.request('ping', {}, 'pong')).event).toBe('pong');
        await sleep(250);
      }
      expect(client.frames.filter((frame) => frame.event === 'error')).toEqual([]);
    });
  });

  describe('token renewal', () => {
    it('auth with a fresh token of the same user answers authed', async () => {
      const client = await connect();

      const authed = await client.request('auth', { token: alice.accessToken }, 'authed');

      expect(new Date(authed.data.expiresAt).getTime()).toBeGreaterThan(Date.now());
    });

    it('refuses a token of another user', async () => {
      const bob = await registerUser(testApp);
      const client = await connect();

      const error = await client.request('auth', { token: bob.accessToken }, 'error');

      expect(error.data.code).toBe('forbidden');
    });
  });
});

describe('WebSocket gateway: token expiry, heartbeat and shutdown (e2e)', () => {
  it('closes with 4401 a connection whose token expires, unless renewed in time', async () => {
    const testApp = await startTestApp({ environment: { JWT_TTL: '3s' } });
    try {
      const user = await registerUser(testApp);
      const expiring = await WsTestClient.connect(testApp.url, { token: user.accessToken });
      const renewed = await WsTestClient.connect(testApp.url, { token: user.accessToken });

      // JWT expiry has whole seconds: 1.1 s later the fresh token expires at least 1 s later.
      await sleep(1100);
      const refreshed = await fetch(`${testApp.url}/api/auth/refresh`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ refreshToken: user.refreshToken }),
      }).then((response) => response.json() as Promise<{ accessToken: string }>);
      await renewed.request('auth', { token: refreshed.accessToken }, 'authed');

      expect((await expiring.closed).code).toBe(CloseCode.TokenExpired);
      // The renewed connection outlives the token it opened with.
      expect((await renewed.request('ping', {}, 'pong')).event).toBe('pong');
      await renewed.closeAndWait();
    } finally {
      await testApp.close();
    }
  });

  it('drops a peer that stops answering pings', async () => {
    const testApp = await startTestApp({ environment: { WS_HEARTBEAT_MS: '200' } });
    try {
      const user = await registerUser(testApp);
      const client = await WsTestClient.connect(testApp.url, {
        token: user.accessToken,
        autoPong: false,
      });

      const closed = await client.closed;

      expect(closed.code).toBe(1006);
    } finally {
      await testApp.close();
    }
  });

  it('limits connection attempts per client address with 429 and Retry-After', async () => {
    const testApp = await startTestApp({ environment: { WS_CONNECT_LIMIT: '3' } });
    const opened: WsTestClient[] = [];
    try {
      const user = await registerUser(testApp);
      for (let i = 0; i < 3; i++) {
        opened.push(await WsTestClient.connect(testApp.url, { token: user.accessToken }));
      }

      const refused = await WsTestClient.tryConnect(testApp.url, { token: user.accessToken });

      expect(refused).toMatchObject({ accepted: false, status: 429 });
      expect(Number(!refused.accepted && refused.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      await Promise.all(opened.map((client) => client.closeAndWait()));
      await testApp.close();
    }
  });

  it('refuses upgrades past WS_MAX_CONNECTIONS with 503', async () => {
    const testApp = await startTestApp({ environment: { WS_MAX_CONNECTIONS: '2' } });
    const opened: WsTestClient[] = [];
    try {
      const user = await registerUser(testApp);
      for (let i = 0; i < 2; i++) {
        opened.push(await WsTestClient.connect(testApp.url, { token: user.accessToken }));
      }

      const refused = await WsTestClient.tryConnect(testApp.url, { token: user.accessToken });

      expect(refused).toMatchObject({ accepted: false, status: 503 });
    } finally {
      await Promise.all(opened.map((client) => client.closeAndWait()));
      await testApp.close();
    }
  });

  it('on shutdown closes every socket with 1001', async () => {
    const testApp = await startTestApp();
    const user = await registerUser(testApp);
    const client = await WsTestClient.connect(testApp.url, { token: user.accessToken });

    await testApp.close();

    expect((await client.closed).code).toBe(CloseCode.GoingAway);
  });
});
