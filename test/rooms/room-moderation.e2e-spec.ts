import {
  addRoomMember,
  banRoomUser,
  getRoom,
  joinRoom as joinRoomCall,
  leaveRoom as leaveRoomCall,
  listRoomBans,
  listRoomMembers,
  postPrivateMessage,
  removeRoomMember,
  transferRoomOwnership,
  unbanRoomUser,
} from '@libs/client';
import { MISSING_ID } from '@test/factories/ids';
import { apiClient, Client, expectStatus } from '@test/support/api-client';
import { registerUser, RegisteredUser } from '@test/support/auth-helpers';
import {
  addMember,
  createRoom,
  joinRoom,
  listMemberIds,
  postMessage,
  readRoom,
} from '@test/support/room-helpers';
import { useTestApp } from '@test/support/test-app';
import { useWsTestClients } from '@test/support/ws-test-client';

interface Answer {
  error?: unknown;
  response: Response;
}

/** A refused call: its status and its error `code`. */
async function refusal(call: Promise<Answer>): Promise<{ status: number; code: unknown }> {
  const { error, response } = await call;
  return { status: response.status, code: (error as { code?: unknown } | undefined)?.code };
}

describe('room moderation (e2e)', () => {
  const testApp = useTestApp({ environment: { WS_MESSAGE_RATE: '1000' } });
  const clients = useWsTestClients();
  let owner: RegisteredUser;
  let bob: RegisteredUser;
  let carol: RegisteredUser;

  beforeAll(async () => {
    owner = await registerUser(testApp);
    bob = await registerUser(testApp);
    carol = await registerUser(testApp);
  });

  const as = (user: RegisteredUser): Client => apiClient(testApp, user.accessToken);
  const connect = (user: RegisteredUser) => clients.connect(testApp, user);

  const remove = (caller: RegisteredUser, roomId: string, userId: string) =>
    removeRoomMember({ client: as(caller), path: { id: roomId, userId } });
  const ban = (caller: RegisteredUser, roomId: string, userId: string) =>
    banRoomUser({ client: as(caller), path: { id: roomId, userId } });
  const unban = (caller: RegisteredUser, roomId: string, userId: string) =>
    unbanRoomUser({ client: as(caller), path: { id: roomId, userId } });
  const transfer = (caller: RegisteredUser, roomId: string, userId: string) =>
    transferRoomOwnership({ client: as(caller), path: { id: roomId }, body: { userId } });
  const join = (user: RegisteredUser, roomId: string) =>
    joinRoomCall({ client: as(user), path: { id: roomId } });
  const add = (caller: RegisteredUser, roomId: string, userId: string) =>
    addRoomMember({ client: as(caller), path: { id: roomId }, body: { userId } });
  const bannedIds = async (caller: RegisteredUser, roomId: string) =>
    (
      await expectStatus(
        listRoomBans({ client: as(caller), path: { id: roomId }, query: { limit: 100 } }),
        200,
      )
    ).items.map((entry) => entry.user.id);

  describe('DELETE /api/rooms/:id/members/:userId', () => {
    it('the owner removes a member, who is cut off live; removing again changes nothing', async () => {
      const room = await createRoom(testApp, owner, { visibility: 'private' });
      await addMember(testApp, owner, room.id, bob.id);
      await addMember(testApp, owner, room.id, carol.id);
      const bobSocket = await connect(bob);
      const carolSocket = await connect(carol);
      await bobSocket.request('join', { roomId: room.id }, 'joined');
      await carolSocket.request('join', { roomId: room.id }, 'joined');
      // Cached before the removal: the removal must invalidate it.
      expect((await readRoom(testApp, bob, room.id)).status).toBe(200);

      await expectStatus(remove(owner, room.id, bob.id), 204);

      expect((await bobSocket.next('left')).data).toEqual({ roomId: room.id });
      expect((await readRoom(testApp, bob, room.id)).status).toBe(404);
      expect(await listMemberIds(testApp, owner, room.id)).toEqual([owner.id, carol.id]);
      const after = await postMessage(testApp, owner, room.id, { body: 'members only' });
      expect((await carolSocket.next('message')).data.id).toBe(after.id);
      // Sent after the room's message: the first message the removed connection sees.
      const control = await carolSocket.request(
        'dm',
        { userId: bob.id, body: 'you were removed' },
        'ack',
      );
      expect((await bobSocket.next('message')).data.id).toBe(control.data.id);

      await expectStatus(remove(owner, room.id, bob.id), 204);
      await expectStatus(remove(owner, room.id, MISSING_ID), 204);
      expect(await listMemberIds(testApp, owner, room.id)).toEqual([owner.id, carol.id]);
    });

    it('a removed member of a public room may join again (a removal is no ban)', async () => {
      const room = await createRoom(testApp, owner);
      await joinRoom(testApp, bob, room.id);

      // Bob's view of the room, cached before the removal: a member's, with a read position.
      expect((await readRoom(testApp, bob, room.id)).body).toMatchObject({ unreadCount: 0 });

      await expectStatus(remove(owner, room.id, bob.id), 204);
      expect(await listMemberIds(testApp, owner, room.id)).toEqual([owner.id]);
      expect((await readRoom(testApp, bob, room.id)).body).toMatchObject({ unreadCount: null });
      await joinRoom(testApp, bob, room.id);
      expect((await readRoom(testApp, bob, room.id)).body).toMatchObject({ unreadCount: 0 });

      expect(await listMemberIds(testApp, owner, room.id)).toEqual([owner.id, bob.id]);
    });

    it('403 for a member who is not the owner, 409 for the owner removing themselves', async () => {
      const room = await createRoom(testApp, owner);
      await joinRoom(testApp, bob, room.id);
      await joinRoom(testApp, carol, room.id);

      expect(await refusal(remove(bob, room.id, carol.id))).toEqual({
        status: 403,
        code: 'forbidden',
      });
      expect(await refusal(remove(owner, room.id, owner.id))).toEqual({
        status: 409,
        code: 'owner_cannot_leave',
      });
      expect(await listMemberIds(testApp, owner, room.id)).toEqual([owner.id, bob.id, carol.id]);
    });

    it('404 for a private room the caller cannot see, 403 in a direct room (nobody owns it)', async () => {
      const hidden = await createRoom(testApp, owner, { visibility: 'private' });
      await addMember(testApp, owner, hidden.id, carol.id);
      const direct = await expectStatus(
        postPrivateMessage({ client: as(bob), path: { id: carol.id }, body: { body: 'hi' } }),
        201,
      );

      expect(await refusal(remove(bob, hidden.id, carol.id))).toMatchObject({ status: 404 });
      expect(await refusal(remove(bob, direct.roomId, carol.id))).toEqual({
        status: 403,
        code: 'forbidden',
      });
      expect(await listMemberIds(testApp, owner, hidden.id)).toEqual([owner.id, carol.id]);
      expect(await listMemberIds(testApp, carol, direct.roomId)).toHaveLength(2);
    });
  });

  describe('PUT and DELETE /api/rooms/:id/bans/:userId', () => {
    it('a banned member is cut off live and cannot join again, over REST or WebSocket, until unbanned', async () => {
      const room = await createRoom(testApp, owner);
      await joinRoom(testApp, bob, room.id);
      const bobSocket = await connect(bob);
      const ownerSocket = await connect(owner);
      await bobSocket.request('join', { roomId: room.id }, 'joined');
      await ownerSocket.request('join', { roomId: room.id }, 'joined');

      await expectStatus(ban(owner, room.id, bob.id), 204);
      await expectStatus(ban(owner, room.id, bob.id), 204);

      expect((await bobSocket.next('left')).data).toEqual({ roomId: room.id });
      expect(await listMemberIds(testApp, owner, room.id)).toEqual([owner.id]);
      expect(await bannedIds(owner, room.id)).toEqual([bob.id]);
      expect(await refusal(join(bob, room.id))).toEqual({ status: 403, code: 'banned' });
      const refused = await bobSocket.request('join', { roomId: room.id }, 'error');
      expect(refused.data).toMatchObject({
        code: 'forbidden',
        message: expect.stringMatching(/banned/),
      });
      expect(await refusal(add(owner, room.id, bob.id))).toEqual({ status: 403, code: 'banned' });
      expect(await listMemberIds(testApp, owner, room.id)).toEqual([owner.id]);
      // Posted after the refusals: the banned connection gets the room's messages no more.
      const posted = await postMessage(testApp, owner, room.id, { body: 'without bob' });
      expect((await ownerSocket.next('message')).data.id).toBe(posted.id);
      const control = await ownerSocket.request('dm', { userId: bob.id, body: 'banned' }, 'ack');
      expect((await bobSocket.next('message')).data.id).toBe(control.data.id);

      await expectStatus(unban(owner, room.id, bob.id), 204);
      await expectStatus(unban(owner, room.id, bob.id), 204);

      expect(await bannedIds(owner, room.id)).toEqual([]);
      await bobSocket.request('join', { roomId: room.id }, 'joined');
      expect(await listMemberIds(testApp, owner, room.id)).toEqual([owner.id, bob.id]);
      const again = await postMessage(testApp, owner, room.id, { body: 'welcome back' });
      expect((await bobSocket.next('message')).data.id).toBe(again.id);
    });

    it('bans from a private room: the room is 404 to the banned user, and adding them is refused until unbanned', async () => {
      const room = await createRoom(testApp, owner, { visibility: 'private' });
      await addMember(testApp, owner, room.id, bob.id);
      expect((await readRoom(testApp, bob, room.id, '/messages')).status).toBe(200);

      await expectStatus(ban(owner, room.id, bob.id), 204);

      expect((await readRoom(testApp, bob, room.id, '/messages')).status).toBe(404);
      expect(await refusal(join(bob, room.id))).toMatchObject({ status: 404 });
      expect(await refusal(add(owner, room.id, bob.id))).toEqual({ status: 403, code: 'banned' });
      await expectStatus(unban(owner, room.id, bob.id), 204);
      await addMember(testApp, owner, room.id, bob.id);
      expect((await readRoom(testApp, bob, room.id, '/messages')).status).toBe(200);
    });

    it('joins racing bans: every banned user ends up out of the room, whichever came first', async () => {
      const room = await createRoom(testApp, owner);
      const joiners = await Promise.all(Array.from({ length: 8 }, () => registerUser(testApp)));

      const answers = await Promise.all(
        joiners.flatMap((joiner) => [
          refusal(join(joiner, room.id)),
          refusal(ban(owner, room.id, joiner.id)),
        ]),
      );

      for (const [index, answer] of answers.entries()) {
        const expected =
          index % 2 === 0 ? [{ status: 204 }, { status: 403, code: 'banned' }] : [{ status: 204 }];
        expect(expected).toContainEqual(
          answer.code === undefined ? { status: answer.status } : answer,
        );
      }
      expect(await listMemberIds(testApp, owner, room.id)).toEqual([owner.id]);
      expect((await bannedIds(owner, room.id)).sort()).toEqual(joiners.map((j) => j.id).sort());
      // Positive control: a user nobody banned joins the same room.
      await joinRoom(testApp, bob, room.id);
      expect(await listMemberIds(testApp, owner, room.id)).toEqual([owner.id, bob.id]);
    });

    it('bans a user who is no member yet, who then cannot join', async () => {
      const room = await createRoom(testApp, owner);

      await expectStatus(ban(owner, room.id, carol.id), 204);

      expect(await refusal(join(carol, room.id))).toEqual({ status: 403, code: 'banned' });
      await joinRoom(testApp, bob, room.id);
      expect(await listMemberIds(testApp, owner, room.id)).toEqual([owner.id, bob.id]);
    });

    it('refuses a ban of the owner (409), by anyone else (403), of a user that does not exist (404)', async () => {
      const room = await createRoom(testApp, owner);
      await joinRoom(testApp, bob, room.id);
      await joinRoom(testApp, carol, room.id);

      expect(await refusal(ban(owner, room.id, owner.id))).toEqual({
        status: 409,
        code: 'owner_cannot_be_banned',
      });
      expect(await refusal(ban(bob, room.id, owner.id))).toEqual({
        status: 403,
        code: 'forbidden',
      });
      expect(await refusal(ban(bob, room.id, carol.id))).toEqual({
        status: 403,
        code: 'forbidden',
      });
      expect(await refusal(unban(bob, room.id, carol.id))).toEqual({
        status: 403,
        code: 'forbidden',
      });
      expect(await refusal(ban(owner, room.id, MISSING_ID))).toEqual({
        status: 404,
        code: 'not_found',
      });
      expect(await refusal(listRoomBans({ client: as(bob), path: { id: room.id } }))).toEqual({
        status: 403,
        code: 'forbidden',
      });
      expect(await listMemberIds(testApp, owner, room.id)).toEqual([owner.id, bob.id, carol.id]);
      expect(await bannedIds(owner, room.id)).toEqual([]);
    });

    it('GET /api/rooms/:id/bans pages through the bans, oldest first', async () => {
      const room = await createRoom(testApp, owner);
      const users = [bob, carol, await registerUser(testApp)];
      for (const user of users) {
        await expectStatus(ban(owner, room.id, user.id), 204);
      }

      const first = await expectStatus(
        listRoomBans({ client: as(owner), path: { id: room.id }, query: { limit: 2 } }),
        200,
      );
      const second = await expectStatus(
        listRoomBans({
          client: as(owner),
          path: { id: room.id },
          query: { limit: 2, cursor: first.nextCursor ?? undefined },
        }),
        200,
      );

      expect([...first.items, ...second.items].map((entry) => entry.user.id)).toEqual(
        users.map((user) => user.id),
      );
      expect(first.items[0]).toEqual({
        user: expect.objectContaining({ id: bob.id, username: bob.registration.username }),
        bannedAt: expect.any(String),
      });
      expect(second.nextCursor).toBeNull();
    });
  });

  describe('PUT /api/rooms/:id/owner', () => {
    it('hands the room to a member: the new owner moderates, the old one is a plain member who can leave', async () => {
      const room = await createRoom(testApp, owner);
      await joinRoom(testApp, bob, room.id);
      await joinRoom(testApp, carol, room.id);
      // Cached before the handover: it must be invalidated.
      expect((await readRoom(testApp, carol, room.id)).body).toMatchObject({ ownerId: owner.id });
      expect((await readRoom(testApp, carol, room.id, '/members')).status).toBe(200);

      await expectStatus(transfer(owner, room.id, bob.id), 204);

      const read = await expectStatus(getRoom({ client: as(carol), path: { id: room.id } }), 200);
      expect(read.ownerId).toBe(bob.id);
      const members = await expectStatus(
        listRoomMembers({ client: as(carol), path: { id: room.id } }),
        200,
      );
      expect(members.items.map(({ user, role }) => [user.id, role])).toEqual([
        [owner.id, 'member'],
        [bob.id, 'owner'],
        [carol.id, 'member'],
      ]);
      expect(await refusal(remove(owner, room.id, carol.id))).toEqual({
        status: 403,
        code: 'forbidden',
      });
      expect(await refusal(transfer(owner, room.id, owner.id))).toEqual({
        status: 403,
        code: 'forbidden',
      });
      await expectStatus(remove(bob, room.id, carol.id), 204);
      await expectStatus(leaveRoomCall({ client: as(owner), path: { id: room.id } }), 204);
      expect(await listMemberIds(testApp, bob, room.id)).toEqual([bob.id]);
      expect(await refusal(leaveRoomCall({ client: as(bob), path: { id: room.id } }))).toEqual({
        status: 409,
        code: 'owner_cannot_leave',
      });
    });

    it('409 for a non-member, 403 for a non-owner, nothing changes; handing it to oneself changes nothing', async () => {
      const room = await createRoom(testApp, owner);
      await joinRoom(testApp, bob, room.id);

      expect(await refusal(transfer(owner, room.id, carol.id))).toEqual({
        status: 409,
        code: 'new_owner_not_member',
      });
      expect(await refusal(transfer(owner, room.id, MISSING_ID))).toEqual({
        status: 409,
        code: 'new_owner_not_member',
      });
      expect(await refusal(transfer(bob, room.id, bob.id))).toEqual({
        status: 403,
        code: 'forbidden',
      });
      await expectStatus(transfer(owner, room.id, owner.id), 204);

      const read = await expectStatus(getRoom({ client: as(bob), path: { id: room.id } }), 200);
      expect(read.ownerId).toBe(owner.id);
      // Positive control: a member can take it.
      await expectStatus(transfer(owner, room.id, bob.id), 204);
      expect(
        (await expectStatus(getRoom({ client: as(bob), path: { id: room.id } }), 200)).ownerId,
      ).toBe(bob.id);
    });
  });
});
