import request from 'supertest';
import { getRoom, listRooms, markRoomRead } from '@libs/client';
import { apiClient, expectStatus } from '@test/support/api-client';
import { bearer, RegisteredUser, registerUser } from '@test/support/auth-helpers';
import { parsePrometheusText, sumOf } from '@test/support/prometheus-text';
import { MISSING_ID } from '@test/factories/ids';
import { addMember, createRoom, joinRoom, postMessage } from '@test/support/room-helpers';
import { useTestApp } from '@test/support/test-app';
import { useWsTestClients } from '@test/support/ws-test-client';

describe('read state and unread counts (e2e)', () => {
  const testApp = useTestApp();
  const ws = useWsTestClients();

  const client = (user: RegisteredUser) => apiClient(testApp, user.accessToken);
  const roomAs = (user: RegisteredUser, id: string) =>
    expectStatus(getRoom({ client: client(user), path: { id } }), 200);
  const mark = (user: RegisteredUser, id: string, seq: number) =>
    expectStatus(markRoomRead({ client: client(user), path: { id }, body: { seq } }), 200);
  const listed = async (user: RegisteredUser, id: string) => {
    const page = await expectStatus(
      listRooms({ client: client(user), query: { limit: 200 } }),
      200,
    );
    return page.items.find((room) => room.id === id);
  };
  const metric = async (name: string) =>
    sumOf(parsePrometheusText((await request(testApp.server).get('/metrics')).text), name);

  /** A public room of a new owner with one more member. */
  async function roomOfTwo() {
    const owner = await registerUser(testApp);
    const member = await registerUser(testApp);
    const room = await createRoom(testApp, owner);
    await joinRoom(testApp, member, room.id);
    return { owner, member, room };
  }

  it('counts what others posted after the read position; the poster has read their own', async () => {
    const { owner, member, room } = await roomOfTwo();
    const stranger = await registerUser(testApp);
    for (let i = 0; i < 3; i++) {
      await postMessage(testApp, owner, room.id);
    }

    expect(await roomAs(member, room.id)).toMatchObject({
      lastSeq: 3,
      lastReadSeq: 0,
      unreadCount: 3,
    });
    expect(await roomAs(owner, room.id)).toMatchObject({ lastReadSeq: 3, unreadCount: 0 });
    expect(await listed(member, room.id)).toMatchObject({ unreadCount: 3 });
    expect(await listed(owner, room.id)).toMatchObject({ unreadCount: 0 });
    // No member, no read state: null, not 0.
    expect(await roomAs(stranger, room.id)).toMatchObject({ lastSeq: 3, unreadCount: null });
    expect(await listed(stranger, room.id)).toMatchObject({ lastReadSeq: null, unreadCount: null });

    // The member answers: their own message counts as read, and so does everything before it.
    await postMessage(testApp, member, room.id);
    expect(await roomAs(member, room.id)).toMatchObject({
      lastSeq: 4,
      lastReadSeq: 4,
      unreadCount: 0,
    });
    expect(await roomAs(owner, room.id)).toMatchObject({ lastReadSeq: 3, unreadCount: 1 });
  });

  it('a new member starts with nothing unread: what the room held before is not theirs to read', async () => {
    const owner = await registerUser(testApp);
    const late = await registerUser(testApp);
    const room = await createRoom(testApp, owner, { visibility: 'private' });
    await postMessage(testApp, owner, room.id);
    await postMessage(testApp, owner, room.id);

    await addMember(testApp, owner, room.id, late.id);
    await postMessage(testApp, owner, room.id);

    expect(await roomAs(late, room.id)).toMatchObject({
      lastSeq: 3,
      lastReadSeq: 2,
      unreadCount: 1,
    });
  });

  it('PUT read moves the position forward only, clamped to lastSeq; the cached room follows at once', async () => {
    const { owner, member, room } = await roomOfTwo();
    for (let i = 0; i < 3; i++) {
      await postMessage(testApp, owner, room.id);
    }
    // Cached for the member now: the mark must invalidate it.
    await roomAs(member, room.id);
    const cached = await request(testApp.server)
      .get(`/api/rooms/${room.id}`)
      .set(bearer(member.accessToken))
      .expect(200);
    expect(cached.headers['x-cache']).toBe('HIT');

    expect(await mark(member, room.id, 2)).toEqual({
      roomId: room.id,
      lastReadSeq: 2,
      unreadCount: 1,
    });
    expect(await roomAs(member, room.id)).toMatchObject({ lastReadSeq: 2, unreadCount: 1 });
    // Backwards changes nothing.
    expect(await mark(member, room.id, 1)).toEqual({
      roomId: room.id,
      lastReadSeq: 2,
      unreadCount: 1,
    });
    // Beyond lastSeq is clamped to it (documented), not refused.
    expect(await mark(member, room.id, 1_000_000)).toEqual({
      roomId: room.id,
      lastReadSeq: 3,
      unreadCount: 0,
    });
    expect(await roomAs(member, room.id)).toMatchObject({ lastReadSeq: 3, unreadCount: 0 });
    // The owner's view is their own.
    expect(await roomAs(owner, room.id)).toMatchObject({ lastReadSeq: 3, unreadCount: 0 });
  });

  it('refuses marks from non-members and bad seqs, as posting refuses them', async () => {
    const { owner, room } = await roomOfTwo();
    const stranger = await registerUser(testApp);
    const secret = await createRoom(testApp, owner, { visibility: 'private' });
    const put = (user: RegisteredUser, id: string, body: unknown) =>
      request(testApp.server)
        .put(`/api/rooms/${id}/read`)
        .set(bearer(user.accessToken))
        .send(body as object);

    expect((await put(stranger, room.id, { seq: 1 })).body).toMatchObject({
      statusCode: 403,
      message: 'Join the room first',
    });
    const hidden = await put(stranger, secret.id, { seq: 1 });
    const missing = await put(stranger, MISSING_ID, { seq: 1 });
    expect(hidden.status).toBe(404);
    expect({ ...hidden.body, requestId: null }).toEqual({ ...missing.body, requestId: null });
    for (const body of [{ seq: -1 }, { seq: 1.5 }, { seq: 'abc' }, {}, { seq: 1, extra: true }]) {
      expect((await put(owner, room.id, body)).status).toBe(400);
    }
    // Positive control: the owner's own mark of the same room is accepted.
    expect((await put(owner, room.id, { seq: 0 })).status).toBe(200);
  });

  it('a burst of marks costs one write per member and room per second, and the last one wins', async () => {
    const { owner, member, room } = await roomOfTwo();
    for (let i = 0; i < 40; i++) {
      await postMessage(testApp, owner, room.id);
    }
    const writesBefore = await metric('switchboard_read_mark_writes_total');
    const marksBefore = await metric('switchboard_read_marks_total');

    // A client scrolling: one mark, then 39 more at once while the first one's second runs.
    const first = await mark(member, room.id, 1);
    const answers = await Promise.all(
      Array.from({ length: 39 }, (_, index) => mark(member, room.id, index + 2)),
    );

    expect(await metric('switchboard_read_marks_total')).toBe(marksBefore + 40);
    // The first at once, the other 39 merged into one write at the end of its second.
    expect(await metric('switchboard_read_mark_writes_total')).toBe(writesBefore + 2);
    expect(first).toMatchObject({ lastReadSeq: 1 });
    expect(answers.every((answer) => answer.lastReadSeq === 40)).toBe(true);
    expect(await roomAs(member, room.id)).toMatchObject({ lastReadSeq: 40, unreadCount: 0 });
  });

  it('WebSocket read: moves the position, and the room’s members hear read {roomId, userId, seq}', async () => {
    const { owner, member, room } = await roomOfTwo();
    await postMessage(testApp, owner, room.id);
    await postMessage(testApp, owner, room.id);
    const ownerSocket = await ws.connect(testApp, owner);
    await ownerSocket.request('join', { roomId: room.id }, 'joined');
    const memberSocket = await ws.connect(testApp, member);

    memberSocket.send('read', { roomId: room.id, seq: 2 });

    expect((await ownerSocket.next('read')).data).toEqual({
      roomId: room.id,
      userId: member.id,
      seq: 2,
    });
    expect(await roomAs(member, room.id)).toMatchObject({ lastReadSeq: 2, unreadCount: 0 });
  });

  it('WebSocket read from a non-member is refused with an error; the connection stays usable', async () => {
    const { owner, room } = await roomOfTwo();
    const stranger = await registerUser(testApp);
    const socket = await ws.connect(testApp, stranger);

    socket.send('read', { roomId: room.id, seq: 1 }, 'r1');
    expect((await socket.next('error')).data).toMatchObject({ code: 'not_member', ref: 'r1' });
    // Invalid on purpose: outside the protocol, so not checked against it.
    socket.sendUnchecked({ event: 'read', data: { roomId: room.id, seq: -1 }, ref: 'r2' });
    expect((await socket.next('error')).data).toMatchObject({ code: 'invalid_data', ref: 'r2' });
    await socket.request('ping', {}, 'pong');
    expect(await roomAs(owner, room.id)).toMatchObject({ lastReadSeq: 0 });
  });

  it('a direct room’s read reaches the other user without a join', async () => {
    const alice = await registerUser(testApp);
    const bob = await registerUser(testApp);
    const aliceSocket = await ws.connect(testApp, alice);
    const sent = await request(testApp.server)
      .post(`/api/users/${bob.id}/messages`)
      .set(bearer(alice.accessToken))
      .send({ body: 'hi' })
      .expect(201);
    const roomId = (sent.body as { roomId: string }).roomId;

    expect(await roomAs(bob, roomId)).toMatchObject({ unreadCount: 1 });
    await mark(bob, roomId, 1);

    expect((await aliceSocket.next('read')).data).toEqual({ roomId, userId: bob.id, seq: 1 });
  });
});
