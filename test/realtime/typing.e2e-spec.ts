import WebSocket from 'ws';
import { CheckedWebSocket } from '@test/support/checked-web-socket';
import {
  CloseCode,
  RealtimeClient,
  RealtimeClientEventMap,
  TYPING_RELAY_INTERVAL_MS,
} from '@libs/client';
import { registerUser, RegisteredUser } from '@test/support/auth-helpers';
import { createRoom } from '@test/support/room-helpers';
import { startTestApp, TestApp, useTestApp } from '@test/support/test-app';
import { sleep, waitUntil } from '@test/support/wait-until';
import { useWsTestClients, WsTestClient } from '@test/support/ws-test-client';

/** A flood of typing frames, as a client sending one per keystroke without throttling would. */
const FLOOD = 200;

/** Sends `typing` and nothing else: no answer comes on success. */
const type = (client: WsTestClient, roomId: string) => client.send('typing', { roomId });

/** Joins `roomId` on each client, one after the other. */
async function joinAll(roomId: string, ...clients: WsTestClient[]) {
  for (const client of clients) {
    await client.request('join', { roomId }, 'joined');
  }
}

/**
 * The `typing` frames `client` had received by the time `message` `id` reached it: a typing frame
 * sent before that message was written to the socket before it, so none later means none at all.
 */
async function typingBefore(client: WsTestClient, messageId: string) {
  await client.takeThrough('message', (message) => message.id === messageId);
  const typing = client.received('typing');
  client.frames.splice(0);
  return typing;
}

/** Issue 23: `typing {roomId}` reaches the room's other members as `typing {roomId, userId}`. */
describe('WebSocket: typing indicators (e2e)', () => {
  // Above the default rate, so that a flood of 200 frames is within it.
  const testApp = useTestApp({ environment: { WS_MESSAGE_RATE: '1000' } });
  const clients = useWsTestClients();
  let alice: RegisteredUser;
  let bob: RegisteredUser;
  let carol: RegisteredUser;

  const send = async (from: WsTestClient, roomId: string, body: string) =>
    (await from.request('send', { roomId, body }, 'ack')).data.id;

  beforeAll(async () => {
    [alice, bob, carol] = [
      await registerUser(testApp),
      await registerUser(testApp),
      await registerUser(testApp),
    ];
  });

  it("reaches another member, not the sender, nor the sender's second connection, nor a non-member", async () => {
    const room = await createRoom(testApp, alice, { visibility: 'public' });
    const elsewhere = await createRoom(testApp, carol, { visibility: 'public' });
    const aliceFirst = await clients.connect(testApp, alice);
    const aliceSecond = await clients.connect(testApp, alice);
    const bobClient = await clients.connect(testApp, bob);
    const carolClient = await clients.connect(testApp, carol);
    await joinAll(room.id, aliceFirst, aliceSecond, bobClient);
    await joinAll(elsewhere.id, carolClient);

    type(aliceFirst, room.id);
    expect((await bobClient.next('typing')).data).toEqual({ roomId: room.id, userId: alice.id });

    // Messages sent after the typing, as markers: nothing of it came before them.
    const inRoom = await send(aliceFirst, room.id, 'after typing');
    const inElsewhere = await send(carolClient, elsewhere.id, 'meanwhile');
    expect(await typingBefore(aliceFirst, inRoom)).toEqual([]);
    expect(await typingBefore(aliceSecond, inRoom)).toEqual([]);
    expect(await typingBefore(carolClient, inElsewhere)).toEqual([]);
    expect(await typingBefore(bobClient, inRoom)).toEqual([]);
  });

  it('refuses typing in a room not joined on this connection with not_member, and the connection stays', async () => {
    const room = await createRoom(testApp, alice, { visibility: 'public' });
    const joined = await clients.connect(testApp, alice);
    const unjoined = await clients.connect(testApp, alice);
    const bobClient = await clients.connect(testApp, bob);
    const stranger = await clients.connect(testApp, carol);
    await joinAll(room.id, joined, bobClient);

    unjoined.send('typing', { roomId: room.id }, 'typing-1');
    stranger.send('typing', { roomId: room.id }, 'typing-2');
    expect((await unjoined.next('error')).data).toMatchObject({
      code: 'not_member',
      ref: 'typing-1',
    });
    expect((await stranger.next('error')).data).toMatchObject({
      code: 'not_member',
      ref: 'typing-2',
    });
    // Invalid on purpose: outside the protocol, so not checked against it.
    unjoined.sendUnchecked({ event: 'typing', data: { roomId: 'not an id' }, ref: 'typing-3' });
    expect((await unjoined.next('error')).data).toMatchObject({
      code: 'invalid_data',
      ref: 'typing-3',
    });
    expect((await unjoined.request('ping', {}, 'pong')).data).toEqual({});

    // Positive control: from the connection that joined, it arrives; the refused ones did not.
    type(joined, room.id);
    expect((await bobClient.next('typing')).data).toEqual({ roomId: room.id, userId: alice.id });
    const marker = await send(joined, room.id, 'marker');
    expect(await typingBefore(bobClient, marker)).toEqual([]);
  });

  it('relays one of two frames within 2 s, and again after 2 s', async () => {
    const room = await createRoom(testApp, alice, { visibility: 'public' });
    const aliceClient = await clients.connect(testApp, alice);
    const bobClient = await clients.connect(testApp, bob);
    await joinAll(room.id, aliceClient, bobClient);

    const firstAt = Date.now();
    type(aliceClient, room.id);
    type(aliceClient, room.id);
    const first = await send(aliceClient, room.id, 'after two');
    expect(await typingBefore(bobClient, first)).toHaveLength(1);

    await sleep(Math.max(0, firstAt + TYPING_RELAY_INTERVAL_MS + 100 - Date.now()));
    type(aliceClient, room.id);
    const second = await send(aliceClient, room.id, 'after the third');
    expect(await typingBefore(bobClient, second)).toEqual([{ roomId: room.id, userId: alice.id }]);
  });

  it(`drops a flood of ${FLOOD} typing frames within the frame rate: one relayed, no error, the connection serves on`, async () => {
    const room = await createRoom(testApp, alice, { visibility: 'public' });
    const aliceClient = await clients.connect(testApp, alice);
    const bobClient = await clients.connect(testApp, bob);
    await joinAll(room.id, aliceClient, bobClient);

    for (let index = 0; index < FLOOD; index++) {
      type(aliceClient, room.id);
    }
    expect((await aliceClient.request('ping', {}, 'pong')).data).toEqual({});
    const marker = await send(aliceClient, room.id, 'after the flood');

    expect(await typingBefore(bobClient, marker)).toEqual([{ roomId: room.id, userId: alice.id }]);
    expect(aliceClient.received('error')).toEqual([]);
    expect(aliceClient.socket.readyState).toBe(WebSocket.OPEN);
  });

  it('RealtimeClient: typing() reaches the other member, whose typing ends with the message', async () => {
    const room = await createRoom(testApp, alice, { visibility: 'public' });
    const connect = (user: RegisteredUser) =>
      RealtimeClient.connect({
        baseUrl: testApp.url,
        accessToken: user.accessToken,
        WebSocket: CheckedWebSocket,
      });
    const aliceSocket = await connect(alice);
    const bobSocket = await connect(bob);
    try {
      await aliceSocket.join(room.id);
      await bobSocket.join(room.id);
      const seen: string[] = [];
      const record =
        (event: string) =>
        (data: RealtimeClientEventMap['typing'] | RealtimeClientEventMap['message']) =>
          seen.push(`${event} ${'userId' in data ? data.userId : data.senderId}`);
      bobSocket.on('typing', record('typing'));
      bobSocket.on('typingStopped', record('stopped'));
      bobSocket.on('message', record('message'));
      const aliceSeen: string[] = [];
      aliceSocket.on('typing', () => aliceSeen.push('typing'));

      expect(aliceSocket.typing(room.id)).toBe(true);
      // At most one per 2 s leaves the client itself.
      expect(aliceSocket.typing(room.id)).toBe(false);
      await waitUntil(() => seen.length === 1, 5000, 'the typing event');
      await aliceSocket.send(room.id, 'typed');
      await waitUntil(() => seen.length === 3, 5000, 'the message');

      expect(seen).toEqual([`typing ${alice.id}`, `stopped ${alice.id}`, `message ${alice.id}`]);
      expect(aliceSeen).toEqual([]);
    } finally {
      aliceSocket.close();
      bobSocket.close();
      await Promise.all([aliceSocket.closed, bobSocket.closed]);
    }
  });
});

/** At the default WS_MESSAGE_RATE (20 frames a second, 40 in a burst), as PRODUCT.md documents. */
describe('WebSocket: typing at the default frame rate (e2e)', () => {
  let testApp: TestApp;
  const clients = useWsTestClients();

  beforeAll(async () => {
    testApp = await startTestApp({});
  });

  afterAll(async () => {
    await testApp?.close();
  });

  it('a burst up to the rate costs nothing; a flood of 200 past it gets rate_limited, then 1008', async () => {
    const burst = testApp.config.websocket.messageRate * 2;
    const [alice, bob] = [await registerUser(testApp), await registerUser(testApp)];
    const room = await createRoom(testApp, alice, { visibility: 'public' });
    const aliceClient = await clients.connect(testApp, alice);
    const bobClient = await clients.connect(testApp, bob);
    await joinAll(room.id, aliceClient, bobClient);
    // The joins' frames come back at the rate.
    await sleep(1000);

    for (let index = 0; index < burst; index++) {
      type(aliceClient, room.id);
    }
    expect((await bobClient.next('typing')).data).toEqual({ roomId: room.id, userId: alice.id });
    await sleep(1000);
    expect((await aliceClient.request('ping', {}, 'pong')).data).toEqual({});
    expect(aliceClient.received('error')).toEqual([]);

    for (let index = 0; index < FLOOD; index++) {
      type(aliceClient, room.id);
    }
    expect((await aliceClient.next('error')).data.code).toBe('rate_limited');
    expect((await aliceClient.closed).code).toBe(CloseCode.PolicyViolation);
  });
});
