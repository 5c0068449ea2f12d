import { PresenceStatus } from '@libs/client';
import { registerUser } from '@test/support/auth-helpers';
import { useProcessFleet, waitUntilBackOnRedis } from '@test/support/process-fleet';
import { createRoom, postMessage } from '@test/support/room-helpers';
import { waitUntil } from '@test/support/wait-until';
import { WsTestClient } from '@test/support/ws-test-client';

const MESSAGES_DURING_OUTAGE = 10;
/** Attempts at closing a socket while its `join` is still in flight on the server. */
const CLOSE_DURING_JOIN_ATTEMPTS = 20;
/** No frame for this long: whatever was on its way has arrived. */
const QUIET_MS = 500;

/** Resolves once `client` has received nothing for `quietMs` (fails after `timeoutMs`). */
async function waitUntilQuiet(client: WsTestClient, quietMs: number, timeoutMs: number) {
  let count = -1;
  let since = Date.now();
  await waitUntil(
    () => {
      if (client.frames.length !== count) {
        count = client.frames.length;
        since = Date.now();
      }
      return Date.now() - since >= quietMs;
    },
    timeoutMs,
    'the frames on their way to arrive',
  );
}

/**
 * Issue 13, guarantee 9: live delivery on the instance that stored a message does not go through
 * Redis. Two server processes on one PostgreSQL database and a redis-server of this suite's own,
 * which it stops and starts again.
 */
describe('local-first live delivery (services)', () => {
  const fleet = useProcessFleet(2, { WS_MESSAGE_RATE: '1000' });
  const connect = fleet.connect;

  afterEach(async () => {
    // Each test leaves Redis running, whatever it did to it, and both instances back on it.
    await fleet.redis.start();
    for (const instance of fleet.instances) {
      await waitUntilBackOnRedis(instance);
    }
  });

  it('Redis down: members on the storing instance get every message live; the other instance catches up by sync', async () => {
    const [instanceA, instanceB] = fleet.instances;
    const alice = await registerUser(instanceA);
    const bob = await registerUser(instanceA);
    const carol = await registerUser(instanceB);
    const room = await createRoom(instanceA, alice, { visibility: 'public' });
    const aliceOnA = await connect(instanceA, alice);
    const bobOnA = await connect(instanceA, bob);
    const carolOnB = await connect(instanceB, carol);
    for (const client of [aliceOnA, bobOnA, carolOnB]) {
      await client.request('join', { roomId: room.id }, 'joined');
    }
    // With Redis up, a message crosses to the other instance.
    const first = (await aliceOnA.request('send', { roomId: room.id, body: 'first' }, 'ack')).data;
    expect((await carolOnB.next('message')).data.id).toBe(first.id);

    await fleet.redis.stop();
    const acked: string[] = [];
    for (let index = 1; index < MESSAGES_DURING_OUTAGE; index++) {
      const sender = index % 2 ? aliceOnA : bobOnA;
      acked.push(
        (await sender.request('send', { roomId: room.id, body: `outage ${index}` }, 'ack')).data.id,
      );
    }
    acked.push((await postMessage(instanceA, bob, room.id, { body: 'outage, over REST' })).id);
    const privateAck = (await aliceOnA.request('dm', { userId: bob.id, body: 'psst' }, 'ack')).data;

    // Every one of them, the sender's own echo included, in order on both local connections.
    const expected = [first.id, ...acked, privateAck.id];
    for (const client of [aliceOnA, bobOnA]) {
      const live = [];
      while (live.length < expected.length) {
        live.push((await client.next('message')).data.id);
      }
      expect(live).toEqual(expected);
    }

    await fleet.redis.start();
    const history = (
      await carolOnB.request('sync', { roomId: room.id, afterSeq: first.seq }, 'history')
    ).data;
    expect(history.messages.map((message) => message.id)).toEqual(acked);
    expect(history.hasMore).toBe(false);
  });

  it('a socket closed while its join is in flight leaves no presence behind', async () => {
    const [instanceA, instanceB] = fleet.instances;
    const watcher = await registerUser(instanceA);
    const leaver = await registerUser(instanceA);
    const room = await createRoom(instanceA, watcher, { visibility: 'public' });
    const watcherOnA = await connect(instanceA, watcher);
    await watcherOnA.request('join', { roomId: room.id }, 'joined');
    await watcherOnA.next('presence');

    // The join frame is on its way when the socket goes: the server handles both at once.
    for (let attempt = 0; attempt < CLOSE_DURING_JOIN_ATTEMPTS; attempt++) {
      const instance = attempt % 2 ? instanceB : instanceA;
      const doomed = await WsTestClient.connect(instance.url, { token: leaver.accessToken });
      doomed.send('join', { roomId: room.id });
      doomed.socket.terminate();
      await doomed.closed;
    }
    // Whatever presence the attempts caused has arrived once nothing more comes for a while.
    await waitUntilQuiet(watcherOnA, QUIET_MS, 10_000);
    watcherOnA.frames.splice(0);
    const leaverIs = (status: PresenceStatus) => ({ roomId: room.id, userId: leaver.id, status });

    // So the next real join is the leaver's first connection in the room: online, then offline.
    const leaverOnB = await connect(instanceB, leaver);
    await leaverOnB.request('join', { roomId: room.id }, 'joined');
    expect((await watcherOnA.next('presence')).data).toEqual(leaverIs('online'));
    await leaverOnB.closeAndWait();
    expect((await watcherOnA.next('presence')).data).toEqual(leaverIs('offline'));
  });
});
