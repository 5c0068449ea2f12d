import { CheckedWebSocket } from '@test/support/checked-web-socket';
import {
  createClient,
  createConfig,
  createRoom,
  getMyProfile,
  listRoomMessages,
  login,
  postPrivateMessage,
  RealtimeClient,
  RealtimeMessage,
  refreshTokens,
  register,
  ResponseHeaders,
} from '@libs/client';
import { aRegistration } from '@test/factories/user.factory';
import { useTestApp } from '@test/support/test-app';
import { waitUntil } from '@test/support/wait-until';

/**
 * A whole session driven only through libs/client, as another project would use it: the
 * generated REST client and the typed WebSocket client.
 */
describe('a session through the generated client (e2e)', () => {
  const testApp = useTestApp();

  /** A REST client that sends the given access token (as a caller's app would keep it). */
  const restClient = (token?: () => string) =>
    createClient(createConfig({ baseUrl: testApp.url, auth: token }));

  it('register, login, room, WebSocket join/send/receive, history, private message, refresh', async () => {
    const anonymous = restClient();
    const aliceRegistration = aRegistration();
    await register({ client: anonymous, throwOnError: true, body: aliceRegistration });
    const bobRegistered = await register({
      client: anonymous,
      throwOnError: true,
      body: aRegistration(),
    });

    const { data: session } = await login({
      client: anonymous,
      throwOnError: true,
      body: { username: aliceRegistration.username, password: aliceRegistration.password },
    });
    let accessToken = session.accessToken;
    const alice = restClient(() => accessToken);
    const { data: me } = await getMyProfile({ client: alice, throwOnError: true });
    expect(me.username).toBe(aliceRegistration.username);

    const { data: room } = await createRoom({
      client: alice,
      throwOnError: true,
      body: { name: 'general', visibility: 'public' },
    });
    expect(room.visibility).toBe('public');

    const aliceSocket = await RealtimeClient.connect({
      baseUrl: testApp.url,
      accessToken,
      WebSocket: CheckedWebSocket,
    });
    const bobSocket = await RealtimeClient.connect({
      baseUrl: testApp.url,
      accessToken: bobRegistered.data.accessToken,
      WebSocket: CheckedWebSocket,
    });
    try {
      const received: RealtimeMessage[] = [];
      aliceSocket.on('message', (message) => received.push(message));
      const joined = await aliceSocket.join(room.id);
      expect(joined).toEqual({ roomId: room.id, lastSeq: 0 });

      const ack = await aliceSocket.send(room.id, 'hello from the client', 'msg-1');
      expect(ack).toMatchObject({ roomId: room.id, seq: 1, clientMsgId: 'msg-1' });

      const { data: history, response } = await listRoomMessages({
        client: alice,
        throwOnError: true,
        path: { id: room.id },
        query: { limit: 10 },
      });
      expect(history.items.map((message) => message.body)).toEqual(['hello from the client']);
      // The generated header types name what the server sends.
      const cacheStatus: ResponseHeaders['listRoomMessages'][200]['X-Cache'] = 'MISS';
      expect(response.headers.get('X-Cache')).toBe(cacheStatus);
      await waitUntil(() => received.length === 1, 5000, 'the live message');
      expect(received[0]).toMatchObject({ id: ack.id, body: 'hello from the client' });

      const bobInbox = new Promise<RealtimeMessage>((resolve) => bobSocket.on('message', resolve));
      const { data: privateMessage } = await postPrivateMessage({
        client: alice,
        throwOnError: true,
        path: { id: bobRegistered.data.user.id },
        body: { body: 'just for you' },
      });
      expect((await bobInbox).id).toBe(privateMessage.id);

      const { data: renewed } = await refreshTokens({
        client: anonymous,
        throwOnError: true,
        body: { refreshToken: session.refreshToken },
      });
      accessToken = renewed.accessToken;
      await aliceSocket.authenticate(accessToken);
      expect((await getMyProfile({ client: alice, throwOnError: true })).data.id).toBe(me.id);
    } finally {
      aliceSocket.close();
      bobSocket.close();
      await Promise.all([aliceSocket.closed, bobSocket.closed]);
    }
  });
});
