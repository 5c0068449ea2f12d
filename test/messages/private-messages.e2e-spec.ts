import request from 'supertest';
import { listRooms, postPrivateMessage } from '@libs/client';
import { apiClient, expectStatus } from '@test/support/api-client';
import { MISSING_ID } from '@test/factories/ids';
import { aMessage, MessageRequest } from '@test/factories/room.factory';
import { bearer, RegisteredUser, registerUser } from '@test/support/auth-helpers';
import { MessageBody, postMessage, readHistory } from '@test/support/room-helpers';
import { useTestApp } from '@test/support/test-app';

describe('private messages (e2e)', () => {
  const testApp = useTestApp();

  const http = () => request(testApp.server);

  const sendPrivate = (
    from: RegisteredUser,
    to: { id: string },
    message: Partial<MessageRequest> = {},
  ) =>
    http()
      .post(`/api/users/${to.id}/messages`)
      .set(bearer(from.accessToken))
      .send(aMessage(message));

  const sendPrivateOk = async (
    from: RegisteredUser,
    to: { id: string },
    message: Partial<MessageRequest> = {},
  ): Promise<MessageBody> => {
    const client = apiClient(testApp, from.accessToken);
    const body = aMessage(message);
    return expectStatus(postPrivateMessage({ client, path: { id: to.id }, body }), 201);
  };

  const roomIdsOf = async (user: RegisteredUser) => {
    const client = apiClient(testApp, user.accessToken);
    const page = await expectStatus(listRooms({ client, query: { limit: 200 } }), 200);
    return page.items.map((room) => room.id);
  };

  it('the first private message makes the direct room of the two; replies go to the same room', async () => {
    const alice = await registerUser(testApp);
    const bob = await registerUser(testApp);

    const first = await sendPrivateOk(alice, bob, { body: 'hi bob' });
    const reply = await sendPrivateOk(bob, alice, { body: 'hi alice' });
    const again = await sendPrivateOk(alice, bob);

    expect(first).toMatchObject({ seq: 1, senderId: alice.id, body: 'hi bob' });
    expect(reply).toMatchObject({ roomId: first.roomId, seq: 2, senderId: bob.id });
    expect(again).toMatchObject({ roomId: first.roomId, seq: 3 });
    const room = await http()
      .get(`/api/rooms/${first.roomId}`)
      .set(bearer(bob.accessToken))
      .expect(200);
    expect(room.body).toEqual({
      id: first.roomId,
      name: null,
      visibility: 'direct',
      ownerId: null,
      lastSeq: 3,
      createdAt: expect.any(String),
      // Bob's own reply (seq 2) counts as read; alice's later message does not.
      lastReadSeq: 2,
      unreadCount: 1,
    });
    expect(await readHistory(testApp, bob, first.roomId)).toEqual([first, reply, again]);
    expect(await roomIdsOf(alice)).toContain(first.roomId);
    expect(await roomIdsOf(bob)).toContain(first.roomId);
  });

  it('a direct room, its messages and its members are 404 to anyone else', async () => {
    const alice = await registerUser(testApp);
    const bob = await registerUser(testApp);
    const eve = await registerUser(testApp);
    const { roomId } = await sendPrivateOk(alice, bob);

    for (const path of [
      `/api/rooms/${roomId}`,
      `/api/rooms/${roomId}/messages`,
      `/api/rooms/${roomId}/members`,
    ]) {
      await http().get(path).set(bearer(eve.accessToken)).expect(404);
    }
    await http().put(`/api/rooms/${roomId}/members/me`).set(bearer(eve.accessToken)).expect(404);
    await http()
      .post(`/api/rooms/${roomId}/messages`)
      .set(bearer(eve.accessToken))
      .send(aMessage())
      .expect(404);
    expect(await roomIdsOf(eve)).not.toContain(roomId);
  });

  it('its two members may post through the room route too; nobody owns, deletes or adds to it', async () => {
    const alice = await registerUser(testApp);
    const bob = await registerUser(testApp);
    const carol = await registerUser(testApp);
    const { roomId } = await sendPrivateOk(alice, bob);

    const viaRoom = await postMessage(testApp, bob, roomId);
    expect(viaRoom.seq).toBe(2);
    await http().delete(`/api/rooms/${roomId}`).set(bearer(alice.accessToken)).expect(403);
    await http()
      .post(`/api/rooms/${roomId}/members`)
      .set(bearer(alice.accessToken))
      .send({ userId: carol.id })
      .expect(403);
    const members = await http()
      .get(`/api/rooms/${roomId}/members`)
      .set(bearer(alice.accessToken))
      .expect(200);
    expect(
      new Set(members.body.items.map((member: { user: { id: string } }) => member.user.id)),
    ).toEqual(new Set([alice.id, bob.id]));
    expect(members.body.items.map((member: { role: string }) => member.role)).toEqual([
      'member',
      'member',
    ]);
  });

  it('a user who left the direct room is back in it with the next private message', async () => {
    const alice = await registerUser(testApp);
    const bob = await registerUser(testApp);
    const { roomId } = await sendPrivateOk(alice, bob);
    await http().delete(`/api/rooms/${roomId}/members/me`).set(bearer(bob.accessToken)).expect(204);
    await http().get(`/api/rooms/${roomId}`).set(bearer(bob.accessToken)).expect(404);

    const next = await sendPrivateOk(alice, bob);

    expect(next).toMatchObject({ roomId, seq: 2 });
    expect(await readHistory(testApp, bob, roomId)).toHaveLength(2);
  });

  it('a retry with the same clientMsgId returns the first message', async () => {
    const alice = await registerUser(testApp);
    const bob = await registerUser(testApp);

    const first = await sendPrivateOk(alice, bob, { clientMsgId: 'dm-1' });
    const retry = await sendPrivateOk(alice, bob, { clientMsgId: 'dm-1', body: 'different' });

    expect(retry).toEqual(first);
    expect(await readHistory(testApp, alice, first.roomId)).toHaveLength(1);
  });

  it('one room per pair when both write first at the same moment', async () => {
    const pairs = await Promise.all(
      Array.from({ length: 5 }, async () => [
        await registerUser(testApp),
        await registerUser(testApp),
      ]),
    );

    const messages = await Promise.all(
      pairs.flatMap(([a, b]) => [sendPrivateOk(a, b), sendPrivateOk(b, a), sendPrivateOk(a, b)]),
    );

    for (let pair = 0; pair < pairs.length; pair++) {
      const ofPair = messages.slice(pair * 3, pair * 3 + 3);
      expect(new Set(ofPair.map((message) => message.roomId)).size).toBe(1);
      expect(ofPair.map((message) => message.seq).sort()).toEqual([1, 2, 3]);
    }
    expect(new Set(messages.map((message) => message.roomId)).size).toBe(pairs.length);
  });

  it('400 for a message to oneself, 404 for an unknown user, 400 for an id that is not a UUID', async () => {
    const alice = await registerUser(testApp);

    const self = await sendPrivate(alice, alice).expect(400);
    expect(self.body).toMatchObject({ code: 'cannot_message_self' });
    const unknown = await sendPrivate(alice, { id: MISSING_ID }).expect(404);
    expect(unknown.body.message).toBe('User not found');
    await sendPrivate(alice, { id: 'bob' }).expect(400);
    expect(await roomIdsOf(alice)).toEqual([]);
  });

  it('the body is 1 to 4000 characters', async () => {
    const alice = await registerUser(testApp);
    const bob = await registerUser(testApp);

    await sendPrivate(alice, bob, { body: '' }).expect(400);
    await sendPrivate(alice, bob, { body: 'x'.repeat(4001) }).expect(400);
    await sendPrivate(alice, bob, { body: 'x'.repeat(4000) }).expect(201);
  });

  it('401 without a token', async () => {
    await http().post(`/api/users/${MISSING_ID}/messages`).send(aMessage()).expect(401);
  });
});
