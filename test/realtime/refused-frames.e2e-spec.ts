import { CloseCode, RealtimeErrorCode } from '@libs/client';
import { MessagesService } from '@app/messages/messages.service';
import { MISSING_ID } from '@test/factories/ids';
import { registerUser, RegisteredUser } from '@test/support/auth-helpers';
import { createRoom } from '@test/support/room-helpers';
import { startTestApp, TestApp } from '@test/support/test-app';
import { settlesWithin } from '@test/support/wait-until';
import { WsTestClient } from '@test/support/ws-test-client';

/** More refused frames than any allowance of a burst: a client sending them must be closed. */
const ABUSIVE_FRAMES = 20;
/** A few refused frames, as a buggy but honest client sends them. */
const FEW_FRAMES = 5;
const CLOSE_WAIT_MS = 5_000;

/**
 * PRODUCT.md: a refused frame gets `error` and the connection stays open, but repeated refused
 * frames end in 1008, whichever handler refused them. Failures of the server are not the
 * client's abuse.
 */
describe('WebSocket: refused frames count as abuse (e2e)', () => {
  let testApp: TestApp;
  let alice: RegisteredUser;
  let bob: RegisteredUser;
  const clients: WsTestClient[] = [];

  const connect = async (user: RegisteredUser) => {
    const client = await WsTestClient.connect(testApp.url, { token: user.accessToken });
    clients.push(client);
    return client;
  };

  /** The error codes received and not yet taken. */
  const errorCodes = (client: WsTestClient): RealtimeErrorCode[] =>
    client.received('error').map((error) => error.code);

  beforeAll(async () => {
    testApp = await startTestApp({});
    [alice, bob] = [await registerUser(testApp), await registerUser(testApp)];
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.closeAndWait()));
  });

  afterAll(async () => {
    await testApp?.close();
  });

  it('closes with 1008 a client that keeps sending bad room ids, forbidden and unknown rooms', async () => {
    const ownRoom = await createRoom(testApp, alice);
    const privateRoom = await createRoom(testApp, bob, { visibility: 'private' });
    const publicRoom = await createRoom(testApp, bob);
    const client = await connect(alice);
    // Before the abuse, the same connection is served.
    expect((await client.request('join', { roomId: ownRoom.id }, 'joined')).data.roomId).toBe(
      ownRoom.id,
    );
    expect((await client.request('ping', {}, 'pong')).data).toEqual({});

    const refused: [string, unknown][] = [
      ['join', { roomId: 'not-a-room-id' }],
      ['join', { roomId: MISSING_ID }],
      ['join', { roomId: privateRoom.id }],
      ['send', { roomId: publicRoom.id, body: 'not a member' }],
      ['auth', { token: bob.accessToken }],
    ];
    for (let i = 0; i < ABUSIVE_FRAMES; i++) {
      const [event, data] = refused[i % refused.length];
      // The bad room id is invalid on purpose, beyond the document.
      client.sendUnchecked({ event, data });
    }

    expect(await settlesWithin(client.closed, CLOSE_WAIT_MS)).toBe(true);
    expect(await client.closed).toEqual({
      code: CloseCode.PolicyViolation,
      reason: 'Too many refused frames',
    });
    const codes = errorCodes(client);
    expect(new Set(codes)).toEqual(
      new Set(['invalid_data', 'not_found', 'not_member', 'forbidden']),
    );
    expect(codes.length).toBeLessThan(ABUSIVE_FRAMES);
  });

  it('keeps a client open that sends a few refused frames: it still gets pong', async () => {
    const client = await connect(alice);

    for (let i = 0; i < FEW_FRAMES; i++) {
      const error = await client.request('join', { roomId: MISSING_ID }, 'error');
      expect(error.data.code).toBe('not_found');
    }

    expect((await client.request('ping', {}, 'pong')).data).toEqual({});
    expect(await settlesWithin(client.closed, 0)).toBe(false);
  });

  it('does not count failures of the server against the client', async () => {
    const room = await createRoom(testApp, alice);
    const client = await connect(alice);
    const post = jest
      .spyOn(testApp.app.get(MessagesService), 'post')
      .mockRejectedValue(new Error('the database is gone'));
    try {
      for (let i = 0; i < ABUSIVE_FRAMES; i++) {
        client.send('send', { roomId: room.id, body: `message ${i}` });
      }
      expect((await client.request('ping', {}, 'pong')).data).toEqual({});
    } finally {
      post.mockRestore();
    }

    expect(errorCodes(client)).toEqual(Array.from({ length: ABUSIVE_FRAMES }, () => 'internal'));
    expect((await client.request('send', { roomId: room.id, body: 'back' }, 'ack')).data.seq).toBe(
      1,
    );
    expect(await settlesWithin(client.closed, 0)).toBe(false);
  });
});
