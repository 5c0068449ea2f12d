import { getRoom, markRoomRead } from '@libs/client';
import { apiClient, expectStatus } from '@test/support/api-client';
import { RegisteredUser, registerUser } from '@test/support/auth-helpers';
import { useProcessFleet } from '@test/support/process-fleet';
import { createRoom, joinRoom, postMessage } from '@test/support/room-helpers';
import type { ServerProcess } from '@test/support/server-process';

/**
 * Read state on PostgreSQL with two server processes: the group-committed read-position
 * statement and the append's own-read CTE, and `read` crossing instances over the bus.
 */
describe('read state on PostgreSQL across two instances (services)', () => {
  const fleet = useProcessFleet(2);
  let instanceA: ServerProcess;
  let instanceB: ServerProcess;

  beforeAll(() => {
    [instanceA, instanceB] = fleet.instances;
  });

  const roomAs = (on: ServerProcess, user: RegisteredUser, id: string) =>
    expectStatus(getRoom({ client: apiClient(on, user.accessToken), path: { id } }), 200);
  const mark = (on: ServerProcess, user: RegisteredUser, id: string, seq: number) =>
    expectStatus(
      markRoomRead({ client: apiClient(on, user.accessToken), path: { id }, body: { seq } }),
      200,
    );

  it('unread counts follow posts and marks made on either instance', async () => {
    const owner = await registerUser(instanceA);
    const member = await registerUser(instanceB);
    const room = await createRoom(instanceA, owner);
    await joinRoom(instanceB, member, room.id);
    for (let i = 0; i < 5; i++) {
      await postMessage(i % 2 ? instanceA : instanceB, owner, room.id);
    }

    // Read on B (cached there), marked on A: B's cached view is invalidated over the bus.
    expect(await roomAs(instanceB, member, room.id)).toMatchObject({ unreadCount: 5 });
    expect(await mark(instanceA, member, room.id, 3)).toMatchObject({
      lastReadSeq: 3,
      unreadCount: 2,
    });
    expect(await roomAs(instanceB, member, room.id)).toMatchObject({
      lastReadSeq: 3,
      unreadCount: 2,
    });
    expect(await roomAs(instanceB, owner, room.id)).toMatchObject({
      lastReadSeq: 5,
      unreadCount: 0,
    });
    // Clamped and forward only, on PostgreSQL too.
    expect(await mark(instanceB, member, room.id, 99)).toMatchObject({
      lastReadSeq: 5,
      unreadCount: 0,
    });
    expect(await mark(instanceA, member, room.id, 1)).toMatchObject({ lastReadSeq: 5 });
  });

  it('concurrent posts and marks of many members: every position ends where it should', async () => {
    const owner = await registerUser(instanceA);
    const room = await createRoom(instanceA, owner);
    const members = await Promise.all(
      Array.from({ length: 8 }, async (_, index) => {
        const member = await registerUser(index % 2 ? instanceA : instanceB);
        await joinRoom(instanceA, member, room.id);
        return member;
      }),
    );

    // Each member posts and marks at once, on both instances, racing the others' posts.
    await Promise.all(
      members.map(async (member, index) => {
        const on = index % 2 ? instanceA : instanceB;
        await postMessage(on, member, room.id);
        await mark(on, member, room.id, 1);
        await postMessage(on, member, room.id);
      }),
    );

    const views = await Promise.all(members.map((member) => roomAs(instanceB, member, room.id)));
    for (const view of views) {
      expect(view.lastSeq).toBe(16);
      // At least the member's own last post is read; nothing beyond lastSeq.
      expect(view.lastReadSeq).toBeGreaterThanOrEqual(2);
      expect(view.lastReadSeq! + view.unreadCount!).toBe(16);
    }
    // Positive control: a mark to the end is taken by every one of them.
    const marked = await Promise.all(members.map((member) => mark(instanceA, member, room.id, 16)));
    expect(marked.map((answer) => answer.unreadCount)).toEqual(members.map(() => 0));
  });

  it('a read marked on A reaches the room’s members on B live', async () => {
    const owner = await registerUser(instanceA);
    const member = await registerUser(instanceA);
    const room = await createRoom(instanceA, owner);
    await joinRoom(instanceA, member, room.id);
    await postMessage(instanceA, owner, room.id);
    const ownerOnB = await fleet.connect(instanceB, owner);
    await ownerOnB.request('join', { roomId: room.id }, 'joined');
    const memberOnA = await fleet.connect(instanceA, member);

    memberOnA.send('read', { roomId: room.id, seq: 1 });

    expect((await ownerOnB.next('read')).data).toEqual({
      roomId: room.id,
      userId: member.id,
      seq: 1,
    });
  });
});
