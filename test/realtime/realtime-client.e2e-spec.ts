import { IncomingMessage } from 'node:http';
import { CheckedWebSocket } from '@test/support/checked-web-socket';
import { RealtimeClient, RealtimeRequestError } from '@libs/client';
import { registerUser } from '@test/support/auth-helpers';
import { useTestApp } from '@test/support/test-app';

describe('RealtimeClient against the gateway (e2e)', () => {
  const testApp = useTestApp();

  const connect = (accessToken: string) =>
    RealtimeClient.connect({
      baseUrl: testApp.url,
      accessToken,
      WebSocket: CheckedWebSocket,
    });

  it('sends the token in the Authorization header in Node, never in the URL', async () => {
    const user = await registerUser(testApp);
    const upgrades: { url?: string; authorization?: string }[] = [];
    const server = testApp.app.getHttpServer();
    const record = (request: IncomingMessage) =>
      upgrades.push({ url: request.url, authorization: request.headers.authorization });
    server.on('upgrade', record);
    try {
      const socket = await connect(user.accessToken);
      await expect(socket.ping()).resolves.toEqual({});
      socket.close();
      await socket.closed;
    } finally {
      server.off('upgrade', record);
    }

    expect(upgrades).toEqual([{ url: '/ws', authorization: `Bearer ${user.accessToken}` }]);
  });

  it('connects, pings and renews its token', async () => {
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
