import request from 'supertest';
import { MISSING_ID } from '@test/factories/ids';
import { bearer, RegisteredUser, registerUser } from '@test/support/auth-helpers';
import { addMember, createRoom, joinRoom, listMemberIds } from '@test/support/room-helpers';
import { useTestApp } from '@test/support/test-app';

describe('room members (e2e)', () => {
  const testApp = useTestApp();
  let owner: RegisteredUser;
  let bob: RegisteredUser;

  beforeAll(async () => {
    owner = await registerUser(testApp);
    bob = await registerUser(testApp);
  });

  const http = () => request(testApp.server);

  const memberIds = (viewer: RegisteredUser, roomId: string) =>
    listMemberIds(testApp, viewer, roomId);

  const withoutRequestId = (body: Record<string, unknown>) => {
    const { requestId: _requestId, ...rest } = body;
    return rest;
  };

  describe('PUT /api/rooms/:id/members/me', () => {
    it('joins a public room, and joining again changes nothing', async () => {
      const room = await createRoom(testApp, owner);

      await joinRoom(testApp, bob, room.id);
      await joinRoom(testApp, bob, room.id);

      expect(await memberIds(owner, room.id)).toEqual([owner.id, bob.id]);
    });

    it('404 for a private room the caller is not in, exactly as for a missing room', async () => {
      const room = await createRoom(testApp, owner, { visibility: 'private' });

      const hidden = await http()
        .put(`/api/rooms/${room.id}/members/me`)
        .set(bearer(bob.accessToken))
        .expect(404);
      const missing = await http()
        .put(`/api/rooms/${MISSING_ID}/members/me`)
        .set(bearer(bob.accessToken))
        .expect(404);
      expect(withoutRequestId(hidden.body)).toEqual(withoutRequestId(missing.body));
      expect(await memberIds(owner, room.id)).toEqual([owner.id]);
    });

    it('is a no-op for a member of a private room', async () => {
      const room = await createRoom(testApp, owner, { visibility: 'private' });
      await addMember(testApp, owner, room.id, bob.id);

      await joinRoom(testApp, bob, room.id);

      expect(await memberIds(owner, room.id)).toEqual([owner.id, bob.id]);
    });
  });

  describe('DELETE /api/rooms/:id/members/me', () => {
    it('leaves a room, and leaving again changes nothing', async () => {
      const room = await createRoom(testApp, owner);
      await joinRoom(testApp, bob, room.id);

      for (let i = 0; i < 2; i++) {
        await http()
          .delete(`/api/rooms/${room.id}/members/me`)
          .set(bearer(bob.accessToken))
          .expect(204);
      }

      expect(await memberIds(owner, room.id)).toEqual([owner.id]);
    });

    it('409 for the owner, who deletes the room instead', async () => {
      const room = await createRoom(testApp, owner);

      const response = await http()
        .delete(`/api/rooms/${room.id}/members/me`)
        .set(bearer(owner.accessToken))
        .expect(409);
      expect(response.body).toMatchObject({ code: 'owner_cannot_leave' });
    });

    it('after leaving a private room, it is 404 to the leaver', async () => {
      const room = await createRoom(testApp, owner, { visibility: 'private' });
      await addMember(testApp, owner, room.id, bob.id);

      await http()
        .delete(`/api/rooms/${room.id}/members/me`)
        .set(bearer(bob.accessToken))
        .expect(204);

      await http().get(`/api/rooms/${room.id}`).set(bearer(bob.accessToken)).expect(404);
      await http()
        .delete(`/api/rooms/${room.id}/members/me`)
        .set(bearer(bob.accessToken))
        .expect(404);
    });
  });

  describe('POST /api/rooms/:id/members', () => {
    it('lets the owner add a user to a private room, who can then see it', async () => {
      const room = await createRoom(testApp, owner, { visibility: 'private' });
      await http().get(`/api/rooms/${room.id}`).set(bearer(bob.accessToken)).expect(404);

      const response = await http()
        .post(`/api/rooms/${room.id}/members`)
        .set(bearer(owner.accessToken))
        .send({ userId: bob.id })
        .expect(201);

      expect(response.body).toEqual({
        user: {
          id: bob.id,
          username: bob.registration.username,
          displayName: bob.registration.username,
          createdAt: expect.any(String),
        },
        role: 'member',
        joinedAt: expect.any(String),
      });
      await http().get(`/api/rooms/${room.id}`).set(bearer(bob.accessToken)).expect(200);
      const listed = await http()
        .get('/api/rooms')
        .query({ limit: 200 })
        .set(bearer(bob.accessToken))
        .expect(200);
      expect(listed.body.items.map((item: { id: string }) => item.id)).toContain(room.id);
    });

    it('adding a member again changes nothing', async () => {
      const room = await createRoom(testApp, owner, { visibility: 'private' });
      const first = await http()
        .post(`/api/rooms/${room.id}/members`)
        .set(bearer(owner.accessToken))
        .send({ userId: bob.id })
        .expect(201);

      const second = await http()
        .post(`/api/rooms/${room.id}/members`)
        .set(bearer(owner.accessToken))
        .send({ userId: bob.id })
        .expect(201);

      expect(second.body).toEqual(first.body);
      expect(await memberIds(owner, room.id)).toEqual([owner.id, bob.id]);
    });

    it('403 for a member who is not the owner', async () => {
      const carol = await registerUser(testApp);
      const room = await createRoom(testApp, owner, { visibility: 'private' });
      await addMember(testApp, owner, room.id, bob.id);

      const response = await http()
        .post(`/api/rooms/${room.id}/members`)
        .set(bearer(bob.accessToken))
        .send({ userId: carol.id })
        .expect(403);
      expect(response.body).toMatchObject({ statusCode: 403, code: 'forbidden' });
      expect(await memberIds(owner, room.id)).toEqual([owner.id, bob.id]);
    });

    it('403 for a non-member of a public room', async () => {
      const room = await createRoom(testApp, owner);

      await http()
        .post(`/api/rooms/${room.id}/members`)
        .set(bearer(bob.accessToken))
        .send({ userId: bob.id })
        .expect(403);
    });

    it('404 for a non-member of a private room', async () => {
      const room = await createRoom(testApp, owner, { visibility: 'private' });

      await http()
        .post(`/api/rooms/${room.id}/members`)
        .set(bearer(bob.accessToken))
        .send({ userId: bob.id })
        .expect(404);
    });

    it('404 for an unknown user, 400 for a userId that is not a UUID', async () => {
      const room = await createRoom(testApp, owner, { visibility: 'private' });

      const unknown = await http()
        .post(`/api/rooms/${room.id}/members`)
        .set(bearer(owner.accessToken))
        .send({ userId: MISSING_ID })
        .expect(404);
      expect(unknown.body.message).toBe('User not found');
      const invalid = await http()
        .post(`/api/rooms/${room.id}/members`)
        .set(bearer(owner.accessToken))
        .send({ userId: 'bob' })
        .expect(400);
      expect(invalid.body.details.map((detail: { field: string }) => detail.field)).toEqual([
        'userId',
      ]);
    });
  });

  describe('GET /api/rooms/:id/members', () => {
    it('lists members in the order they joined, the owner marked, page by page', async () => {
      const room = await createRoom(testApp, owner);
      const joiners = [bob, await registerUser(testApp), await registerUser(testApp)];
      for (const joiner of joiners) {
        await joinRoom(testApp, joiner, room.id);
      }

      const seen: { user: { id: string }; role: string }[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 10; page++) {
        const response: request.Response = await http()
          .get(`/api/rooms/${room.id}/members`)
          .query(cursor ? { limit: 1, cursor } : { limit: 1 })
          .set(bearer(bob.accessToken))
          .expect(200);
        expect(response.body.items).toHaveLength(1);
        seen.push(...response.body.items);
        cursor = response.body.nextCursor as string | null;
        if (!cursor) {
          break;
        }
      }

      expect(seen.map((member) => member.user.id)).toEqual([
        owner.id,
        ...joiners.map((joiner) => joiner.id),
      ]);
      expect(seen.map((member) => member.role)).toEqual(['owner', 'member', 'member', 'member']);
    });

    it('shows a public room’s members to anyone', async () => {
      const room = await createRoom(testApp, owner);

      expect(await memberIds(bob, room.id)).toEqual([owner.id]);
    });

    it('404 for a non-member of a private room', async () => {
      const room = await createRoom(testApp, owner, { visibility: 'private' });

      const hidden = await http()
        .get(`/api/rooms/${room.id}/members`)
        .set(bearer(bob.accessToken))
        .expect(404);
      const missing = await http()
        .get(`/api/rooms/${MISSING_ID}/members`)
        .set(bearer(bob.accessToken))
        .expect(404);
      expect(withoutRequestId(hidden.body)).toEqual(withoutRequestId(missing.body));
    });

    it.each(['0', '201', 'x'])('400 for limit=%s', async (limit) => {
      const room = await createRoom(testApp, owner);

      await http()
        .get(`/api/rooms/${room.id}/members`)
        .query({ limit })
        .set(bearer(owner.accessToken))
        .expect(400);
    });

    it('400 for a cursor of another list', async () => {
      const room = await createRoom(testApp, owner);
      await createRoom(testApp, owner);
      const rooms = await http()
        .get('/api/rooms')
        .query({ limit: 1 })
        .set(bearer(owner.accessToken))
        .expect(200);

      await http()
        .get(`/api/rooms/${room.id}/members`)
        .query({ cursor: rooms.body.nextCursor })
        .set(bearer(owner.accessToken))
        .expect(400);
    });
  });
});
