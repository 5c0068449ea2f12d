import { PresenceStatus } from '@libs/client';
import { registerUser } from '@test/support/auth-helpers';
import { presenceIn } from '@test/support/presence-helpers';
import { createRoom } from '@test/support/room-helpers';
import { useProcessFleet, waitUntilLiveBothWays } from '@test/support/process-fleet';
import type { ServerProcess } from '@test/support/server-process';
import { sleep } from '@test/support/wait-until';
import { WsTestClient } from '@test/support/ws-test-client';

/** How long a frame that must not come gets to show up. */
const QUIET_MS = 300;
/** Redis is back: by then both instances deliver live again (reconnect back-off is 2 s at most). */
const RESUME_TIMEOUT_MS = 15_000;

/**
 * Issue 4, service-backed: two server processes on one PostgreSQL database and one Redis (a
 * redis-server of this suite's own, so that it can be restarted), with one JWT secret and one
 * key prefix, and real WebSocket clients on each.
 */
describe('two server processes on one Redis and one PostgreSQL (services)', () => {
  const fleet = useProcessFleet(2, { WS_MESSAGE_RATE: '1000' });
  const connect = fleet.connect;
  let instanceA: ServerProcess;
  let instanceB: ServerProcess;

  /** Sends on `from` and resolves with the ack's message id. */
  const send = async (from: WsTestClient, roomId: string, body: string) =>
    (await from.request('send', { roomId, body }, 'ack')).data;

  /** Alice connected to A and Bob to B, both joined to a new room of Alice's. */
  const aliceOnAAndBobOnB = async () => {
    const alice = await registerUser(instanceA);
    const bob = await registerUser(instanceB);
    const room = await createRoom(instanceA, alice);
    const aliceOnA = await connect(instanceA, alice);
    const bobOnB = await connect(instanceB, bob);
    await aliceOnA.request('join', { roomId: room.id }, 'joined');
    await bobOnB.request('join', { roomId: room.id }, 'joined');
    return { alice, room, aliceOnA, bobOnB };
  };

  beforeAll(() => {
    [instanceA, instanceB] = fleet.instances;
  });

  it('a room message sent on A reaches a client joined on B', async () => {
    const { alice, room, aliceOnA, bobOnB } = await aliceOnAAndBobOnB();

    const ack = await send(aliceOnA, room.id, 'from A');

    expect((await bobOnB.next('message')).data).toMatchObject({
      id: ack.id,
      roomId: room.id,
      seq: 1,
      senderId: alice.id,
      body: 'from A',
    });
    expect((await aliceOnA.next('message')).data.id).toBe(ack.id);
  });

  it('a private message sent on A reaches every connection of both users on A and B, without a join', async () => {
    const alice = await registerUser(instanceA);
    const bob = await registerUser(instanceA);
    const aliceOnA = await connect(instanceA, alice);
    const aliceOnB = await connect(instanceB, alice);
    const bobOnA = await connect(instanceA, bob);
    const bobOnB = await connect(instanceB, bob);

    const ack = (await aliceOnA.request('dm', { userId: bob.id, body: 'psst' }, 'ack')).data;

    const received = await Promise.all(
      [bobOnA, bobOnB, aliceOnA, aliceOnB].map((client) => client.next('message')),
    );
    for (const frame of received) {
      expect(frame.data).toMatchObject({
        id: ack.id,
        roomId: ack.roomId,
        senderId: alice.id,
        body: 'psst',
      });
    }
  });

  it('presence across instances: a user on both is offline only when both connections are gone', async () => {
    const alice = await registerUser(instanceA);
    const bob = await registerUser(instanceA);
    const carol = await registerUser(instanceA);
    const room = await createRoom(instanceA, alice);
    const watcherOnA = await connect(instanceA, alice);
    await watcherOnA.request('join', { roomId: room.id }, 'joined');
    expect((await watcherOnA.next('presence')).data).toMatchObject({ userId: alice.id });
    const bobOnB = await connect(instanceB, bob);
    const bobOnA = await connect(instanceA, bob);
    const carolOnB = await connect(instanceB, carol);
    const presenceOf = presenceIn(room);
    /** Carol comes or goes on B: every presence the watcher got until then, in order. */
    const presenceThroughCarol = async (event: 'join' | 'leave', status: PresenceStatus) => {
      await carolOnB.request(event, { roomId: room.id }, event === 'join' ? 'joined' : 'left');
      return watcherOnA.takeThrough(
        'presence',
        (presence) => presence.userId === carol.id && presence.status === status,
      );
    };

    await bobOnB.request('join', { roomId: room.id }, 'joined');
    expect((await watcherOnA.next('presence')).data).toEqual(presenceOf(bob, 'online'));
    // Bob was online already: his second connection, on the other instance, changes nothing.
    await bobOnA.request('join', { roomId: room.id }, 'joined');
    expect(await presenceThroughCarol('join', 'online')).toEqual([presenceOf(carol, 'online')]);

    // One of Bob's two connections going changes nothing either.
    await bobOnB.closeAndWait();
    expect(await presenceThroughCarol('leave', 'offline')).toEqual([presenceOf(carol, 'offline')]);

    // The last one going: offline, once.
    await bobOnA.closeAndWait();
    expect(
      await watcherOnA.takeThrough('presence', (presence) => presence.userId === bob.id),
    ).toEqual([presenceOf(bob, 'offline')]);
    expect(await presenceThroughCarol('join', 'online')).toEqual([presenceOf(carol, 'online')]);
  });

  it('Redis restarted: messages committed meanwhile are in sync, live delivery resumes by itself', async () => {
    const { room, aliceOnA, bobOnB } = await aliceOnAAndBobOnB();
    const before = await send(aliceOnA, room.id, 'before the outage');
    expect((await bobOnB.next('message')).data.id).toBe(before.id);

    await fleet.redis.stop();
    const duringOutage = [];
    for (let i = 1; i <= 3; i++) {
      duringOutage.push(await send(aliceOnA, room.id, `during the outage ${i}`));
    }
    await sleep(QUIET_MS);
    // Committed and acknowledged, but not live: the bus had nowhere to publish them.
    expect(bobOnB.received('message')).toEqual([]);
    await fleet.redis.start();

    const history = (
      await bobOnB.request('sync', { roomId: room.id, afterSeq: before.seq }, 'history')
    ).data;
    expect(history.messages.map((message) => message.id)).toEqual(
      duringOutage.map((ack) => ack.id),
    );
    expect(history.messages.map((message) => message.seq)).toEqual([2, 3, 4]);
    expect(history.hasMore).toBe(false);

    // Each direction: send until one arrives live on the other instance, then every one does.
    await waitUntilLiveBothWays([aliceOnA, bobOnB], room.id, RESUME_TIMEOUT_MS);
  });
});
