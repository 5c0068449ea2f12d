import request from 'supertest';
import { MISSING_ID } from '@test/factories/ids';
import { DataSource } from 'typeorm';
import { DatabaseWriter } from '@app/database/database-writer';
import { bearer, registerUser, RegisteredUser } from '@test/support/auth-helpers';
import {
  addMember,
  createRoom,
  joinRoom,
  leaveRoom,
  MessageBody,
  postMessage,
  readRoom,
  ROOM_READS,
  RoomBody,
} from '@test/support/room-helpers';
import { useTestApp } from '@test/support/test-app';
import { WsTestClient } from '@test/support/ws-test-client';

/**
 * The cached room reads of PRODUCT.md (the room, its members, its history): access is decided
 * before the cache answers, and every write that changes a read invalidates it before it is
 * acknowledged. Under `npm run test:services` the same suite runs with the Redis tier.
 */
describe('room reads through the response cache (e2e)', () => {
  const testApp = useTestApp();
  const sockets: WsTestClient[] = [];

  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((socket) => socket.closeAndWait()));
  });

  const http = () => request(testApp.server);
  const read = (reader: RegisteredUser, roomId: string, part: (typeof ROOM_READS)[number] = '') =>
    readRoom(testApp, reader, roomId, part);
  const history = async (reader: RegisteredUser, roomId: string) => {
    const answer = await read(reader, roomId, '/messages');
    return { ...answer, items: (answer.body as { items: MessageBody[] }).items };
  };
  const members = async (reader: RegisteredUser, roomId: string) => {
    const answer = await read(reader, roomId, '/members');
    const items = (answer.body as { items: { user: { id: string } }[] }).items;
    return { cache: answer.cache, userIds: items.map((item) => item.user.id) };
  };

  /** A private room of a new owner with one more member, and a stranger. */
  async function privateRoom() {
    const owner = await registerUser(testApp);
    const member = await registerUser(testApp);
    const stranger = await registerUser(testApp);
    const room = await createRoom(testApp, owner, { visibility: 'private' });
    await addMember(testApp, owner, room.id, member.id);
    await postMessage(testApp, owner, room.id);
    return { owner, member, stranger, room };
  }

  it.each(ROOM_READS)('GET /api/rooms/:id%s: MISS, then HIT with the same body', async (part) => {
    const owner = await registerUser(testApp);
    const reader = await registerUser(testApp);
    const room = await createRoom(testApp, owner);
    await postMessage(testApp, owner, room.id);

    const first = await read(owner, room.id, part);
    // The room's details carry the caller's read position: cached per caller.
    const second = await read(part === '' ? owner : reader, room.id, part);

    expect(first).toMatchObject({ status: 200, cache: 'MISS' });
    expect(second).toMatchObject({ status: 200, cache: 'HIT' });
    expect(second.text).toBe(first.text);
  });

  it('a hit on a private room asks the database nothing: access and page come from memory', async () => {
    const { member, room } = await privateRoom();
    await read(member, room.id, '/messages');
    // Every way to the database: TypeORM's query runners and the raw reads.
    const spies = [
      jest.spyOn(testApp.app.get(DataSource), 'createQueryRunner'),
      jest.spyOn(testApp.app.get(DatabaseWriter), 'read'),
    ];
    const queries = () => spies.reduce((calls, spy) => calls + spy.mock.calls.length, 0);
    try {
      expect(await read(member, room.id, '/messages')).toMatchObject({
        status: 200,
        cache: 'HIT',
      });
      expect(queries()).toBe(0);
      // The spies see the database: another page is a miss, and it queries.
      await http()
        .get(`/api/rooms/${room.id}/messages?limit=5`)
        .set(bearer(member.accessToken))
        .expect(200)
        .expect('X-Cache', 'MISS');
      expect(queries()).toBeGreaterThan(0);
    } finally {
      spies.forEach((spy) => spy.mockRestore());
    }
  });

  it('a post invalidates the history and the room before its 201', async () => {
    const owner = await registerUser(testApp);
    const room = await createRoom(testApp, owner);
    await postMessage(testApp, owner, room.id);
    await history(owner, room.id);
    await read(owner, room.id);
    expect((await history(owner, room.id)).cache).toBe('HIT');

    const posted = await postMessage(testApp, owner, room.id);

    const after = await history(owner, room.id);
    expect(after.cache).toBe('MISS');
    expect(after.items.map((message) => message.id)).toContain(posted.id);
    const details = await read(owner, room.id);
    expect(details.cache).toBe('MISS');
    expect((details.body as RoomBody).lastSeq).toBe(posted.seq);
    expect((await history(owner, room.id)).cache).toBe('HIT');
  });

  it('a WebSocket send invalidates the history before its ack', async () => {
    const owner = await registerUser(testApp);
    const room = await createRoom(testApp, owner);
    await history(owner, room.id);
    const socket = await WsTestClient.connect(testApp.url, { token: owner.accessToken });
    sockets.push(socket);

    const ack = await socket.request('send', { roomId: room.id, body: 'over ws' }, 'ack');

    const after = await history(owner, room.id);
    expect(after.cache).toBe('MISS');
    expect(after.items.map((message) => message.id)).toEqual([ack.data.id]);
  });

  it('a retried post (same clientMsgId) changes nothing cached', async () => {
    const owner = await registerUser(testApp);
    const room = await createRoom(testApp, owner);
    const first = await postMessage(testApp, owner, room.id, { clientMsgId: 'retry-1' });
    await history(owner, room.id);

    const retried = await postMessage(testApp, owner, room.id, { clientMsgId: 'retry-1' });

    expect(retried.id).toBe(first.id);
    expect((await history(owner, room.id)).items.map((message) => message.id)).toEqual([first.id]);
  });

  it.each(ROOM_READS)(
    'a private page cached for a member is 404 to a non-member (GET /api/rooms/:id%s)',
    async (part) => {
      const { owner, member, stranger, room } = await privateRoom();
      await read(owner, room.id, part);
      await read(member, room.id, part);
      expect(await read(member, room.id, part)).toMatchObject({ status: 200, cache: 'HIT' });

      const refused = await read(stranger, room.id, part);
      const missing = await read(stranger, MISSING_ID, part);

      expect(refused.status).toBe(404);
      expect(refused.cache).toBeUndefined();
      expect(refused.body).toEqual({ ...(missing.body as object), requestId: expect.any(String) });
    },
  );

  it('a leave takes effect at once: the page still cached for others is 404 to the leaver', async () => {
    const { owner, member, room } = await privateRoom();
    await history(member, room.id);
    expect((await history(member, room.id)).cache).toBe('HIT');
    await members(owner, room.id);

    await leaveRoom(testApp, member, room.id);

    expect((await read(member, room.id, '/messages')).status).toBe(404);
    expect((await read(member, room.id)).status).toBe(404);
    expect(await read(owner, room.id, '/messages')).toMatchObject({ status: 200, cache: 'HIT' });
    expect(await members(owner, room.id)).toEqual({ cache: 'MISS', userIds: [owner.id] });
  });

  it('an owner adding a user lets them in at once, and updates the members list', async () => {
    const { owner, member, stranger, room } = await privateRoom();
    await members(owner, room.id);
    expect((await read(stranger, room.id, '/messages')).status).toBe(404);

    await addMember(testApp, owner, room.id, stranger.id);

    expect((await read(stranger, room.id, '/messages')).status).toBe(200);
    expect(await members(owner, room.id)).toEqual({
      cache: 'MISS',
      userIds: [owner.id, member.id, stranger.id],
    });
  });

  it('joining a public room updates its members list', async () => {
    const owner = await registerUser(testApp);
    const joiner = await registerUser(testApp);
    const room = await createRoom(testApp, owner);
    await members(owner, room.id);

    await joinRoom(testApp, joiner, room.id);

    expect(await members(owner, room.id)).toEqual({
      cache: 'MISS',
      userIds: [owner.id, joiner.id],
    });
  });

  it('a user who left a direct room is back in it with the next private message', async () => {
    const alice = await registerUser(testApp);
    const bob = await registerUser(testApp);
    const sent = await http()
      .post(`/api/users/${bob.id}/messages`)
      .set(bearer(alice.accessToken))
      .send({ body: 'hi' })
      .expect(201);
    const roomId = (sent.body as MessageBody).roomId;
    await leaveRoom(testApp, bob, roomId);
    expect((await read(bob, roomId, '/messages')).status).toBe(404);

    await http()
      .post(`/api/users/${bob.id}/messages`)
      .set(bearer(alice.accessToken))
      .send({ body: 'are you there?' })
      .expect(201);

    const back = await history(bob, roomId);
    expect(back.status).toBe(200);
    expect(back.items.map((message) => message.body)).toEqual(['hi', 'are you there?']);
  });

  it('deleting a room removes everything cached about it', async () => {
    const { owner, member, room } = await privateRoom();
    for (const part of ROOM_READS) {
      await read(member, room.id, part);
    }

    await http().delete(`/api/rooms/${room.id}`).set(bearer(owner.accessToken)).expect(204);

    for (const part of ROOM_READS) {
      expect((await read(owner, room.id, part)).status).toBe(404);
      expect((await read(member, room.id, part)).status).toBe(404);
    }
  });

  it('a malformed room id is still a 400, before any cache', async () => {
    const user = await registerUser(testApp);

    const answer = await read(user, 'not-a-uuid', '/messages');

    expect(answer.status).toBe(400);
    expect(answer.cache).toBeUndefined();
  });

  it('without a token: 401, and the cache is not asked', async () => {
    const owner = await registerUser(testApp);
    const room = await createRoom(testApp, owner);
    await read(owner, room.id);

    const response = await http().get(`/api/rooms/${room.id}`).expect(401);

    expect(response.headers['x-cache']).toBeUndefined();
  });
});
