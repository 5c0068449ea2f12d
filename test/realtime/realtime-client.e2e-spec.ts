import WebSocket from 'ws';
import { RealtimeClient, RealtimeRequestError } from '@libs/client';
import { registerUser } from '@test/support/auth-helpers';
import { startTestApp, TestApp } from '@test/support/test-app';

describe('RealtimeClient against the gateway (e2e)', () => {
  let testApp: TestApp;

  beforeAll(async () => {
    testApp = await startTestApp({ listen: true });
  });

  afterAll(async () => {
    await testApp?.close();
  });

  const connect = (accessToken: string) =>
    RealtimeClient.connect({
      baseUrl: testApp.url!,
      accessToken,
      WebSocket: WebSocket,
    });

  it('connects with ?token=, pings and renews its token', async () => {
    const user = await registerUser(testApp);
    const socket = await connect(user.accessToken);
    try {
      await expect(socket.ping()).resolves.toEqual({});
      const authed = await socket.authenticate(user.accessToken);
      expect(new Date(authed.expiresAt).getTime()).toBeGreaterThan(Date.now());
    } finally {
      socket.close();
      await socket.closed;
    }
  });

  it('rejects a refused frame with its code', async () => {
    const alice = await registerUser(testApp);
    const bob = await registerUser(testApp);
    const socket = await connect(alice.accessToken);
    try {
      const refused = socket.authenticate(bob.accessToken);

      await expect(refused).rejects.toBeInstanceOf(RealtimeRequestError);
      await expect(refused).rejects.toMatchObject({ code: 'forbidden' });
    } finally {
      socket.close();
      await socket.closed;
    }
  });

  it('fails to connect without a valid token', async () => {
    await expect(connect('not-a-token')).rejects.toThrow(/refused or failed/);
  });
});
