import request from 'supertest';
import { bearer, registerUser, RegisteredUser } from '@test/support/auth-helpers';
import {
  addMember,
  createRoom,
  MessageBody,
  postMessage,
  readHistory,
  readRoom,
} from '@test/support/room-helpers';
import { startTestApp, TestApp } from '@test/support/test-app';
import {
  createTestDatabase,
  requireTestDatabaseUrl,
  TestDatabase,
} from '@test/support/test-database';
import { requireTestRedisUrl } from '@test/support/test-redis';
import { WsTestClient } from '@test/support/ws-test-client';

/** The same id as a client may type it: a UUID is the same id in either letter case. */
const upper = (id: string) => id.toUpperCase();

/** The file of the embedded default: an empty DATABASE_URL. */
const sqliteDatabase = (): TestDatabase => ({ url: '', drop: async () => {} });

/**
 * Ids arrive in any letter case (REST paths, bodies, WebSocket frames) and are one id: on both
 * databases, with the bus and the cache on Redis, a message posted to the room's id in upper case
 * reaches the members live, the history reads the same, and the cache keeps one entry per room.
 */
describe.each([
  ['PostgreSQL', createTestDatabase],
  ['SQLite', sqliteDatabase],
])('ids in upper case on %s (services)', (_name, databaseFor) => {
  let testApp: TestApp;
  let url: string;
  const clients: WsTestClient[] = [];

  const connect = async (user: RegisteredUser) => {
    const client = await WsTestClient.connect(url, { token: user.accessToken });
    clients.push(client);
    return client;
  };

  /** A public room of a new owner, and a member connected over WebSocket, joined by its id. */
  const roomWithLiveMember = async () => {
    const owner = await registerUser(testApp);
    const member = await registerUser(testApp);
    const room = await createRoom(testApp, owner);
    const memberSocket = await connect(member);
    const joined = await memberSocket.request('join', { roomId: room.id }, 'joined');
    expect(joined.data).toEqual({ roomId: room.id, lastSeq: 0 });
    return { owner, member, room, memberSocket };
  };

  beforeAll(async () => {
    requireTestDatabaseUrl();
    requireTestRedisUrl();
    testApp = await startTestApp({ database: await databaseFor() });
    url = testApp.url!;
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.closeAndWait()));
  });

  afterAll(async () => {
    await testApp?.close();
  });

  it('a REST post to the room id in upper case reaches the member joined with it in lower case', async () => {
    const { owner, room, memberSocket } = await roomWithLiveMember();

    const posted = await postMessage(testApp, owner, upper(room.id), { body: 'typed in caps' });

    expect((await memberSocket.next('message')).data).toEqual(posted);
    expect(posted).toMatchObject({ roomId: room.id, seq: 1 });
  });

  it('a WebSocket send to the room id in upper case is acked and delivered with the canonical id', async () => {
    const { owner, room, memberSocket } = await roomWithLiveMember();
    const ownerSocket = await connect(owner);

    const ack = await ownerSocket.request(
      'send',
      { roomId: upper(room.id), body: 'sent in caps' },
      'ack',
    );

    expect((await memberSocket.next('message')).data).toMatchObject({
      id: ack.data.id,
      roomId: room.id,
      body: 'sent in caps',
    });
    expect(ack.data).toMatchObject({ roomId: room.id, seq: 1 });
  });

  it('join, sync and leave in upper case answer with the canonical id', async () => {
    const { owner, room } = await roomWithLiveMember();
    const posted = await postMessage(testApp, owner, room.id);
    const socket = await connect(await registerUser(testApp));

    const joined = await socket.request('join', { roomId: upper(room.id) }, 'joined');
    const history = await socket.request(
      'sync',
      { roomId: upper(room.id), afterSeq: 0 },
      'history',
    );
    const left = await socket.request('leave', { roomId: upper(room.id) }, 'left');

    expect(joined.data).toEqual({ roomId: room.id, lastSeq: 1 });
    expect(history.data).toEqual({ roomId: room.id, messages: [posted], hasMore: false });
    expect(left.data).toEqual({ roomId: room.id });
  });

  it('a private message to the user id in upper case goes to the same direct room, live', async () => {
    const sender = await registerUser(testApp);
    const recipient = await registerUser(testApp);
    const recipientSocket = await connect(recipient);
    const senderSocket = await connect(sender);

    const byWebSocket = await senderSocket.request(
      'dm',
      { userId: upper(recipient.id), body: 'dm in caps' },
      'ack',
    );
    const byRest = await request(testApp.server)
      .post(`/api/users/${upper(recipient.id)}/messages`)
      .set(bearer(sender.accessToken))
      .send({ body: 'rest dm in caps' })
      .expect(201);
    const byLowerCase = await senderSocket.request(
      'dm',
      { userId: recipient.id, body: 'dm in lower case' },
      'ack',
    );

    expect((byRest.body as MessageBody).roomId).toBe(byWebSocket.data.roomId);
    expect(byLowerCase.data.roomId).toBe(byWebSocket.data.roomId);
    expect([byWebSocket.data.seq, (byRest.body as MessageBody).seq, byLowerCase.data.seq]).toEqual([
      1, 2, 3,
    ]);
    const live = [
      await recipientSocket.next('message'),
      await recipientSocket.next('message'),
      await recipientSocket.next('message'),
    ];
    expect(live.map((frame) => frame.data.body)).toEqual([
      'dm in caps',
      'rest dm in caps',
      'dm in lower case',
    ]);
  });

  it('a profile read by its id in upper case is the one cached profile', async () => {
    const reader = await registerUser(testApp);
    const profile = await registerUser(testApp);

    const lower = await request(testApp.server)
      .get(`/api/users/${profile.id}`)
      .set(bearer(reader.accessToken))
      .expect(200);
    const upperCase = await request(testApp.server)
      .get(`/api/users/${upper(profile.id)}`)
      .set(bearer(reader.accessToken))
      .expect(200);

    expect(lower.headers['x-cache']).toBe('MISS');
    expect(upperCase.headers['x-cache']).toBe('HIT');
    expect(upperCase.body).toEqual(lower.body);
    expect((upperCase.body as { id: string }).id).toBe(profile.id);
  });

  it('an owner adding a member by ids in upper case lets that member read the private room', async () => {
    const owner = await registerUser(testApp);
    const guest = await registerUser(testApp);
    const room = await createRoom(testApp, owner, { visibility: 'private' });
    expect((await readRoom(testApp, guest, room.id)).status).toBe(404);

    await addMember(testApp, owner, upper(room.id), upper(guest.id));

    const members = await request(testApp.server)
      .get(`/api/rooms/${room.id}/members`)
      .set(bearer(owner.accessToken))
      .expect(200);
    expect((members.body.items as { user: { id: string } }[]).map((m) => m.user.id)).toEqual([
      owner.id,
      guest.id,
    ]);
    expect((await readRoom(testApp, guest, room.id)).status).toBe(200);
    expect((await readRoom(testApp, guest, upper(room.id))).status).toBe(200);
  });

  it('the history reads the same in either case, from one cache entry that writes in either case invalidate', async () => {
    const { owner, member, room } = await roomWithLiveMember();
    const first = await postMessage(testApp, owner, room.id);

    const lowerMiss = await readRoom(testApp, member, room.id, '/messages');
    const upperHit = await readRoom(testApp, member, upper(room.id), '/messages');

    expect(lowerMiss).toMatchObject({ status: 200, cache: 'MISS' });
    expect(upperHit).toMatchObject({ status: 200, cache: 'HIT', text: lowerMiss.text });
    expect((lowerMiss.body as { items: MessageBody[] }).items).toEqual([first]);

    // A write through the upper-case id invalidates the page read through the lower-case one…
    const second = await postMessage(testApp, owner, upper(room.id));
    const afterUpperWrite = await readRoom(testApp, member, room.id, '/messages');
    expect(afterUpperWrite.cache).toBe('MISS');
    expect((afterUpperWrite.body as { items: MessageBody[] }).items).toEqual([first, second]);
    expect(await readRoom(testApp, member, upper(room.id), '/messages')).toMatchObject({
      cache: 'HIT',
      text: afterUpperWrite.text,
    });

    // …and a write through the lower-case id the page read through the upper-case one.
    const third = await postMessage(testApp, owner, room.id);
    const afterLowerWrite = await readRoom(testApp, member, upper(room.id), '/messages');
    expect(afterLowerWrite.cache).toBe('MISS');
    expect((afterLowerWrite.body as { items: MessageBody[] }).items).toEqual([
      first,
      second,
      third,
    ]);
    expect(await readHistory(testApp, member, upper(room.id))).toEqual([first, second, third]);
    expect(await readHistory(testApp, member, room.id)).toEqual([first, second, third]);
  });
});
