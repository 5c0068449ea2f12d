import {
  banRoomUser,
  joinRoom as joinRoomCall,
  leaveRoom as leaveRoomCall,
  removeRoomMember,
  transferRoomOwnership,
  unbanRoomUser,
} from '@libs/client';
import { apiClient, expectStatus } from '@test/support/api-client';
import { registerUser, RegisteredUser } from '@test/support/auth-helpers';
import {
  addMember,
  createRoom,
  joinRoom,
  listMemberIds,
  readRoom,
} from '@test/support/room-helpers';
import { useProcessFleet } from '@test/support/process-fleet';
import type { ServerProcess } from '@test/support/server-process';
import type { WsTestClient } from '@test/support/ws-test-client';

/**
 * Moderation across two server processes on one PostgreSQL database and one Redis: the owner
 * acts through instance A, the member it concerns is connected to instance B, and is cut off
 * there at once (the revocation path the leave over REST takes).
 */
describe('room moderation across two instances (services)', () => {
  const fleet = useProcessFleet(2, { WS_MESSAGE_RATE: '1000' });
  let instanceA: ServerProcess;
  let instanceB: ServerProcess;

  beforeAll(() => {
    [instanceA, instanceB] = fleet.instances;
  });

  /** The owner's socket on A; Bob's and Carol's on B; all three joined to the owner's new room. */
  const roomWithBobAndCarolOnB = async (visibility: 'public' | 'private') => {
    const owner = await registerUser(instanceA);
    const bob = await registerUser(instanceA);
    const carol = await registerUser(instanceA);
    const room = await createRoom(instanceA, owner, { visibility });
    for (const member of [bob, carol]) {
      if (visibility === 'private') {
        await addMember(instanceA, owner, room.id, member.id);
      } else {
        await joinRoom(instanceB, member, room.id);
      }
    }
    const ownerOnA = await fleet.connect(instanceA, owner);
    const bobOnB = await fleet.connect(instanceB, bob);
    const carolOnB = await fleet.connect(instanceB, carol);
    for (const socket of [ownerOnA, bobOnB, carolOnB]) {
      await socket.request('join', { roomId: room.id }, 'joined');
    }
    return { owner, bob, carol, room, ownerOnA, bobOnB, carolOnB };
  };

  /**
   * The owner sends to the room on A: Carol on B gets it; Bob on B does not. A private message to
   * Bob, sent after it, is the first message his connection gets.
   */
  const expectCutOff = async (
    ownerOnA: WsTestClient,
    carolOnB: WsTestClient,
    bobOnB: WsTestClient,
    roomId: string,
    bob: RegisteredUser,
  ) => {
    const sent = (await ownerOnA.request('send', { roomId, body: 'without bob' }, 'ack')).data;
    expect((await carolOnB.next('message')).data.id).toBe(sent.id);
    const control = (await ownerOnA.request('dm', { userId: bob.id, body: 'psst' }, 'ack')).data;
    expect((await bobOnB.next('message')).data.id).toBe(control.id);
  };

  it('a member on B removed through A gets left and no more of the room; the private room is 404 to them on B', async () => {
    const { owner, bob, room, ownerOnA, bobOnB, carolOnB } =
      await roomWithBobAndCarolOnB('private');
    // Cached on B before the removal: B must drop it.
    expect((await readRoom(instanceB, bob, room.id)).status).toBe(200);

    await expectStatus(
      removeRoomMember({
        client: apiClient(instanceA, owner.accessToken),
        path: { id: room.id, userId: bob.id },
      }),
      204,
    );

    expect((await bobOnB.next('left')).data).toEqual({ roomId: room.id });
    expect((await readRoom(instanceB, bob, room.id)).status).toBe(404);
    await expectCutOff(ownerOnA, carolOnB, bobOnB, room.id, bob);
  });

  it('a member on B banned through A gets left, and re-joining on B is refused until the ban is lifted on A', async () => {
    const { owner, bob, room, ownerOnA, bobOnB, carolOnB } = await roomWithBobAndCarolOnB('public');
    const ownerOnAClient = apiClient(instanceA, owner.accessToken);

    await expectStatus(
      banRoomUser({ client: ownerOnAClient, path: { id: room.id, userId: bob.id } }),
      204,
    );

    expect((await bobOnB.next('left')).data).toEqual({ roomId: room.id });
    const refused = await bobOnB.request('join', { roomId: room.id }, 'error');
    expect(refused.data).toMatchObject({
      code: 'forbidden',
      message: expect.stringMatching(/banned/),
    });
    const { response, error } = await joinRoomCall({
      client: apiClient(instanceB, bob.accessToken),
      path: { id: room.id },
    });
    expect({ status: response.status, error }).toMatchObject({
      status: 403,
      error: { code: 'banned' },
    });
    await expectCutOff(ownerOnA, carolOnB, bobOnB, room.id, bob);

    await expectStatus(
      unbanRoomUser({ client: ownerOnAClient, path: { id: room.id, userId: bob.id } }),
      204,
    );
    await bobOnB.request('join', { roomId: room.id }, 'joined');
    const welcome = (await ownerOnA.request('send', { roomId: room.id, body: 'back' }, 'ack')).data;
    expect((await bobOnB.next('message')).data.id).toBe(welcome.id);
  });

  it('a room handed over on A is moderated by its new owner on B, whose removal reaches the old owner on A', async () => {
    const { owner, bob, room, ownerOnA, bobOnB, carolOnB } = await roomWithBobAndCarolOnB('public');
    // Cached on B before the handover.
    expect((await readRoom(instanceB, bob, room.id)).body).toMatchObject({ ownerId: owner.id });

    await expectStatus(
      transferRoomOwnership({
        client: apiClient(instanceA, owner.accessToken),
        path: { id: room.id },
        body: { userId: bob.id },
      }),
      204,
    );

    expect((await readRoom(instanceB, bob, room.id)).body).toMatchObject({ ownerId: bob.id });
    await expectStatus(
      removeRoomMember({
        client: apiClient(instanceB, bob.accessToken),
        path: { id: room.id, userId: owner.id },
      }),
      204,
    );
    expect((await ownerOnA.next('left')).data).toEqual({ roomId: room.id });
    const sent = (await bobOnB.request('send', { roomId: room.id, body: 'mine now' }, 'ack')).data;
    expect((await carolOnB.next('message')).data.id).toBe(sent.id);
  });

  it('a handover and the new owner leaving at the same moment never leave the room to a non-member', async () => {
    let handedOver = 0;
    let left = 0;
    for (let round = 0; round < 12; round++) {
      const owner = await registerUser(instanceA);
      const bob = await registerUser(instanceB);
      const room = await createRoom(instanceA, owner, { visibility: 'private' });
      await addMember(instanceA, owner, room.id, bob.id);

      // Through different instances, so that the two writes meet in PostgreSQL.
      const [handover, leave] = await Promise.all([
        transferRoomOwnership({
          client: apiClient(instanceA, owner.accessToken),
          path: { id: room.id },
          body: { userId: bob.id },
        }),
        leaveRoomCall({ client: apiClient(instanceB, bob.accessToken), path: { id: room.id } }),
      ]);

      // One of them wins, and the other is refused: never both.
      expect([handover.response.status, leave.response.status].sort()).toEqual([204, 409]);
      const members = await listMemberIds(instanceA, owner, room.id).catch(() => null);
      if (handover.response.status === 204) {
        handedOver++;
        // Bob owns it and is still in it; the old owner stays a member.
        expect(await listMemberIds(instanceB, bob, room.id)).toEqual(
          expect.arrayContaining([owner.id, bob.id]),
        );
      } else {
        left++;
        expect(members).toEqual([owner.id]);
      }
    }
    // Both outcomes are possible; the invariant held in every round.
    expect(handedOver + left).toBe(12);
  });
});
