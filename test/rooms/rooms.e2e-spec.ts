import request from 'supertest';
import { deleteRoom, getRoom, listRooms } from '@libs/client';
import { apiClient, expectStatus } from '@test/support/api-client';
import { MISSING_ID } from '@test/factories/ids';
import { aRoom } from '@test/factories/room.factory';
import { bearer, RegisteredUser, registerUser } from '@test/support/auth-helpers';
import { addMember, createRoom, joinRoom, postMessage, RoomBody } from '@test/support/room-helpers';
import { useTestApp } from '@test/support/test-app';

describe('rooms (e2e)', () => {
  const testApp = useTestApp();
  let alice: RegisteredUser;
  let bob: RegisteredUser;

  beforeAll(async () => {
    alice = await registerUser(testApp);
    bob = await registerUser(testApp);
  });

  const http = () => request(testApp.server);

  /** A 404 body without its request id, to compare two answers. */
  const notFoundBody = async (user: RegisteredUser, path: string) => {
    const response = await http().get(path).set(bearer(user.accessToken)).expect(404);
    const { requestId: _requestId, ...body } = response.body;
    return body;
  };

  describe('POST /api/rooms', () => {
    it('creates a room whose creator is its owner and first member', async () => {
      const response = await http()
        .post('/api/rooms')
        .set(bearer(alice.accessToken))
        .send({ name: '  General  ', visibility: 'public' })
        .expect(201);

      expect(response.body).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        name: 'General',
        visibility: 'public',
        ownerId: alice.id,
        lastSeq: 0,
        createdAt: expect.any(String),
        lastReadSeq: 0,
        unreadCount: 0,
      });
      const members = await http()
        .get(`/api/rooms/${response.body.id}/members`)
        .set(bearer(alice.accessToken))
        .expect(200);
      expect(members.body.items).toEqual([
        {
          user: expect.objectContaining({ id: alice.id }),
          role: 'owner',
          joinedAt: expect.any(String),
        },
      ]);
    });

    it.each([
      ['no name', { visibility: 'public' }, ['name']],
      ['a blank name', { name: '   ', visibility: 'public' }, ['name']],
      ['a name over 100 characters', { name: 'x'.repeat(101), visibility: 'public' }, ['name']],
      ['no visibility', { name: 'room' }, ['visibility']],
      ['visibility "direct"', { name: 'room', visibility: 'direct' }, ['visibility']],
      ['an unknown field', { ...aRoom(), ownerId: MISSING_ID }, ['ownerId']],
    ])('400 naming the field for %s', async (_case, body, fields) => {
      const response = await http()
        .post('/api/rooms')
        .set(bearer(alice.accessToken))
        .send(body)
        .expect(400);
      expect(response.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
      const named = (response.body.details as { field: string }[]).map((detail) => detail.field);
      expect(new Set(named)).toEqual(new Set(fields));
    });

    it('accepts a name of exactly 100 characters', async () => {
      await http()
        .post('/api/rooms')
        .set(bearer(alice.accessToken))
        .send({ name: 'x'.repeat(100), visibility: 'private' })
        .expect(201);
    });

    it('401 without a token', async () => {
      await http().post('/api/rooms').send(aRoom()).expect(401);
      await http().get('/api/rooms').expect(401);
      await http().get(`/api/rooms/${MISSING_ID}`).expect(401);
    });
  });

  describe('GET /api/rooms/:id', () => {
    it('shows a public room to anyone', async () => {
      const room = await createRoom(testApp, alice);

      const client = apiClient(testApp, bob.accessToken);
      const shown = await expectStatus(getRoom({ client, path: { id: room.id } }), 200);
      // Bob is no member: he has no read position there.
      expect(shown).toEqual({ ...room, lastReadSeq: null, unreadCount: null });
    });

    it('shows a private room to its members only; to others it is 404 like a missing room', async () => {
      const room = await createRoom(testApp, alice, { visibility: 'private' });

      await http().get(`/api/rooms/${room.id}`).set(bearer(alice.accessToken)).expect(200);
      expect(await notFoundBody(bob, `/api/rooms/${room.id}`)).toEqual(
        await notFoundBody(bob, `/api/rooms/${MISSING_ID}`),
      );
      expect(await notFoundBody(bob, `/api/rooms/${room.id}`)).toEqual({
        statusCode: 404,
        error: 'Not Found',
        message: 'Room not found',
        code: 'not_found',
      });

      await addMember(testApp, alice, room.id, bob.id);
      await http().get(`/api/rooms/${room.id}`).set(bearer(bob.accessToken)).expect(200);
    });

    it('400 for an id that is not a UUID', async () => {
      await http().get('/api/rooms/not-a-uuid').set(bearer(alice.accessToken)).expect(400);
    });

    it('shows lastSeq as messages arrive', async () => {
      const room = await createRoom(testApp, alice);
      await postMessage(testApp, alice, room.id);
      await postMessage(testApp, alice, room.id);

      const response = await http()
        .get(`/api/rooms/${room.id}`)
        .set(bearer(alice.accessToken))
        .expect(200);
      expect(response.body.lastSeq).toBe(2);
    });
  });

  describe('GET /api/rooms', () => {
    /** Every room the user's list shows, page by page. */
    const listAll = async (user: RegisteredUser, limit: number) => {
      const client = apiClient(testApp, user.accessToken);
      const rooms: RoomBody[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 1000; page++) {
        const query = cursor ? { limit, cursor } : { limit };
        const { items, nextCursor } = await expectStatus(listRooms({ client, query }), 200);
        expect(items.length).toBeLessThanOrEqual(limit);
        rooms.push(...items);
        cursor = nextCursor ?? undefined;
        if (!cursor) {
          return rooms;
        }
      }
      throw new Error('too many pages');
    };

    it('lists public rooms and the caller’s private ones, not other people’s private ones', async () => {
      const carol = await registerUser(testApp);
      const alicePublic = await createRoom(testApp, alice);
      const alicePrivate = await createRoom(testApp, alice, { visibility: 'private' });
      const carolPrivate = await createRoom(testApp, carol, { visibility: 'private' });
      const withBob = await createRoom(testApp, carol, { visibility: 'private' });
      await addMember(testApp, carol, withBob.id, bob.id);

      const seenByBob = (await listAll(bob, 200)).map((room) => room.id);
      expect(seenByBob).toEqual(expect.arrayContaining([alicePublic.id, withBob.id]));
      expect(seenByBob).not.toContain(alicePrivate.id);
      expect(seenByBob).not.toContain(carolPrivate.id);

      const seenByCarol = (await listAll(carol, 200)).map((room) => room.id);
      expect(seenByCarol).toEqual(
        expect.arrayContaining([alicePublic.id, carolPrivate.id, withBob.id]),
      );
      expect(seenByCarol).not.toContain(alicePrivate.id);
    });

    it('walks every room exactly once, oldest first, with small pages', async () => {
      const dave = await registerUser(testApp);
      const created: RoomBody[] = [];
      for (let i = 0; i < 7; i++) {
        created.push(await createRoom(testApp, dave, { visibility: 'private' }));
      }

      const everything = await listAll(dave, 200);
      const paged = await listAll(dave, 2);

      expect(paged).toEqual(everything);
      expect(new Set(paged.map((room) => room.id)).size).toBe(paged.length);
      const ownPrivate = paged.filter((room) => room.ownerId === dave.id);
      expect(ownPrivate.map((room) => room.id)).toEqual(created.map((room) => room.id));
      const order = paged.map((room) => `${room.createdAt}|${room.id}`);
      expect(order).toEqual([...order].sort());
    });

    it('gives 50 rooms by default, and at most 200', async () => {
      const erin = await registerUser(testApp);
      await Promise.all(
        Array.from({ length: 55 }, () => createRoom(testApp, erin, { visibility: 'private' })),
      );

      const first = await http().get('/api/rooms').set(bearer(erin.accessToken)).expect(200);
      expect(first.body.items).toHaveLength(50);
      expect(first.body.nextCursor).toEqual(expect.any(String));

      const max = await http()
        .get('/api/rooms')
        .query({ limit: 200 })
        .set(bearer(erin.accessToken))
        .expect(200);
      expect(max.body.items.length).toBeGreaterThanOrEqual(55);
      expect(max.body.items.length).toBeLessThanOrEqual(200);
    });

    it.each(['0', '201', '-1', 'abc', '1.5'])('400 for limit=%s', async (limit) => {
      const response = await http()
        .get('/api/rooms')
        .query({ limit })
        .set(bearer(alice.accessToken))
        .expect(400);
      expect(response.body.details.map((detail: { field: string }) => detail.field)).toContain(
        'limit',
      );
    });

    it('400 for a cursor it did not give out', async () => {
      for (const cursor of ['garbage', Buffer.from('{"after":3}').toString('base64url')]) {
        const response = await http()
          .get('/api/rooms')
          .query({ cursor })
          .set(bearer(alice.accessToken))
          .expect(400);
        expect(response.body.details).toEqual([
          { field: 'cursor', message: 'cursor is not valid here' },
        ]);
      }
    });
  });

  describe('DELETE /api/rooms/:id', () => {
    it('lets the owner delete the room with its members and messages', async () => {
      const room = await createRoom(testApp, alice);
      await joinRoom(testApp, bob, room.id);
      await postMessage(testApp, bob, room.id);

      const owner = apiClient(testApp, alice.accessToken);
      await expectStatus(deleteRoom({ client: owner, path: { id: room.id } }), 204);

      await http().get(`/api/rooms/${room.id}`).set(bearer(alice.accessToken)).expect(404);
      await http().get(`/api/rooms/${room.id}/messages`).set(bearer(bob.accessToken)).expect(404);
      await http().get(`/api/rooms/${room.id}/members`).set(bearer(bob.accessToken)).expect(404);
      await http().delete(`/api/rooms/${room.id}`).set(bearer(alice.accessToken)).expect(404);
    });

    it('403 for a member who is not the owner, and for a non-member of a public room', async () => {
      const room = await createRoom(testApp, alice);
      const carol = await registerUser(testApp);
      await joinRoom(testApp, bob, room.id);

      const response = await http()
        .delete(`/api/rooms/${room.id}`)
        .set(bearer(bob.accessToken))
        .expect(403);
      expect(response.body).toMatchObject({ statusCode: 403, error: 'Forbidden' });
      await http().delete(`/api/rooms/${room.id}`).set(bearer(carol.accessToken)).expect(403);
      await http().get(`/api/rooms/${room.id}`).set(bearer(alice.accessToken)).expect(200);
    });

    it('404 for a non-member of a private room, as for a missing one', async () => {
      const room = await createRoom(testApp, alice, { visibility: 'private' });

      await http().delete(`/api/rooms/${room.id}`).set(bearer(bob.accessToken)).expect(404);
      await http().delete(`/api/rooms/${MISSING_ID}`).set(bearer(bob.accessToken)).expect(404);
      await http().get(`/api/rooms/${room.id}`).set(bearer(alice.accessToken)).expect(200);
    });
  });
});
