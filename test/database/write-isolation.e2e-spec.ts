import request from 'supertest';
import { DataSource, EntitySubscriberInterface } from 'typeorm';
import { Room } from '@app/rooms/room.entity';
import { User } from '@app/users/user.entity';
import { bearer, RegisteredUser, registerUser } from '@test/support/auth-helpers';
import { createRoom, joinRoom, listMemberIds, postMessage } from '@test/support/room-helpers';
import { useTestApp } from '@test/support/test-app';

/**
 * Writes of one request never depend on another request's outcome, and races with deletions
 * answer what the API documents. Each race is made deterministic by a TypeORM subscriber that
 * runs the other request at the exact moment it hurt before (see the comment on each test).
 */
describe('write isolation and races with deletion (e2e)', () => {
  const testApp = useTestApp();
  let dataSource: DataSource;
  let owner: RegisteredUser;

  beforeAll(async () => {
    dataSource = testApp.app.get(DataSource);
    owner = await registerUser(testApp);
  });

  const http = () => request(testApp.server);

  /** Adds a subscriber for one test; the returned function removes it. */
  const subscribe = (subscriber: EntitySubscriberInterface): (() => void) => {
    dataSource.subscribers.push(subscriber);
    return () => dataSource.subscribers.splice(dataSource.subscribers.indexOf(subscriber), 1);
  };

  const memberIds = (roomId: string) => listMemberIds(testApp, owner, roomId);

  it("a failing register's rollback does not undo a join acknowledged meanwhile", async () => {
    const room = await createRoom(testApp, owner);
    const taken = await registerUser(testApp);
    const joiner = await registerUser(testApp);
    let joinedInside = false;
    // Were a register to open a transaction on the shared connection, the join runs inside it.
    const unsubscribe = subscribe({
      afterTransactionStart: async () => {
        if (!joinedInside) {
          joinedInside = true;
          await joinRoom(testApp, joiner, room.id);
        }
      },
    });
    try {
      await http()
        .post('/api/auth/register')
        .send({ ...taken.registration })
        .expect(409);
    } finally {
      unsubscribe();
    }
    if (!joinedInside) {
      await joinRoom(testApp, joiner, room.id);
    }

    expect(await memberIds(room.id)).toEqual([owner.id, joiner.id]);
  });

  describe('a room deleted between the access check and the write', () => {
    /** Deletes the room as soon as a request has loaded it, once. */
    const deleteRoomWhenLoaded = (roomId: string) => {
      let deleted = false;
      return subscribe({
        listenTo: () => Room,
        afterLoad: async (room: Room) => {
          if (!deleted && room.id === roomId) {
            deleted = true;
            await dataSource.getRepository(Room).delete({ id: roomId });
          }
        },
      });
    };

    it('join answers 404', async () => {
      const room = await createRoom(testApp, owner);
      const joiner = await registerUser(testApp);
      const unsubscribe = deleteRoomWhenLoaded(room.id);
      try {
        await http()
          .put(`/api/rooms/${room.id}/members/me`)
          .set(bearer(joiner.accessToken))
          .expect(404);
      } finally {
        unsubscribe();
      }
    });

    it('add member answers 404', async () => {
      const room = await createRoom(testApp, owner, { visibility: 'private' });
      const added = await registerUser(testApp);
      const unsubscribe = deleteRoomWhenLoaded(room.id);
      try {
        await http()
          .post(`/api/rooms/${room.id}/members`)
          .set(bearer(owner.accessToken))
          .send({ userId: added.id })
          .expect(404);
      } finally {
        unsubscribe();
      }
    });

    it('positive control: without the deletion both succeed', async () => {
      const room = await createRoom(testApp, owner);
      const joiner = await registerUser(testApp);
      await joinRoom(testApp, joiner, room.id);
      expect(await memberIds(room.id)).toEqual([owner.id, joiner.id]);
    });
  });

  describe('writes with a valid token of a user who no longer exists answer 401', () => {
    let ghost: RegisteredUser;
    let room: { id: string };
    let other: RegisteredUser;

    beforeAll(async () => {
      ghost = await registerUser(testApp);
      other = await registerUser(testApp);
      room = await createRoom(testApp, owner);
      await joinRoom(testApp, ghost, room.id);
      // Positive control: the same writes succeed while the user exists.
      await postMessage(testApp, ghost, room.id);
      await dataSource.getRepository(User).delete({ id: ghost.id });
    });

    it.each([
      ['create a room', 'post', '/api/rooms', () => ({ name: 'ghost town', visibility: 'public' })],
      ['join a room', 'put', () => `/api/rooms/${room.id}/members/me`, () => ({})],
      ['post to a room', 'post', () => `/api/rooms/${room.id}/messages`, () => ({ body: 'boo' })],
      ['message a user', 'post', () => `/api/users/${other.id}/messages`, () => ({ body: 'boo' })],
    ] as const)('%s', async (_name, method, path, body) => {
      const response = await http()
        [method](typeof path === 'string' ? path : path())
        .set(bearer(ghost.accessToken))
        .send(body());
      expect(response.status).toBe(401);
    });
  });
});
