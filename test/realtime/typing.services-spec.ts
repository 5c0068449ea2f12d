import { TYPING_RELAY_INTERVAL_MS } from '@libs/client';
import { registerUser } from '@test/support/auth-helpers';
import {
  useProcessFleet,
  waitUntilBackOnRedis,
  waitUntilLiveBothWays,
} from '@test/support/process-fleet';
import { createRoom } from '@test/support/room-helpers';
import { sleep } from '@test/support/wait-until';
import { WsTestClient } from '@test/support/ws-test-client';

/** Redis is back: by then both instances deliver live again (reconnect back-off is 2 s at most). */
const RESUME_TIMEOUT_MS = 15_000;

/**
 * The `typing` frames `client` had received by the time `message` `id` reached it. A typing control
 * message and a message published after it on the room's channel arrive in that order, and each
 * connection is written its frames in order: none before the marker means none at all.
 */
async function typingBefore(client: WsTestClient, messageId: string) {
  await client.takeThrough('message', (message) => message.id === messageId);
  const typing = client.received('typing');
  client.frames.splice(0);
  return typing;
}

/**
 * Issue 23, service-backed: `typing` crosses instances as a control message on the room's relay
 * channel; two server processes on one PostgreSQL database and a redis-server of this suite's own.
 */
describe('typing indicators across two instances (services)', () => {
  const fleet = useProcessFleet(2, { WS_MESSAGE_RATE: '1000' });
  const connect = fleet.connect;

  afterEach(async () => {
    // Each test leaves Redis running and both instances back on it.
    await fleet.redis.start();
    for (const instance of fleet.instances) {
      await waitUntilBackOnRedis(instance);
    }
  });

  it("typing on A reaches a member on B, not the sender's own connection on B", async () => {
    const [instanceA, instanceB] = fleet.instances;
    const alice = await registerUser(instanceA);
    const bob = await registerUser(instanceB);
    const room = await createRoom(instanceA, alice, { visibility: 'public' });
    const aliceOnA = await connect(instanceA, alice);
    const aliceOnB = await connect(instanceB, alice);
    const bobOnB = await connect(instanceB, bob);
    for (const client of [aliceOnA, aliceOnB, bobOnB]) {
      await client.request('join', { roomId: room.id }, 'joined');
    }

    aliceOnA.send('typing', { roomId: room.id });
    expect((await bobOnB.next('typing')).data).toEqual({ roomId: room.id, userId: alice.id });

    const marker = (await aliceOnA.request('send', { roomId: room.id, body: 'sent' }, 'ack')).data;
    expect(await typingBefore(aliceOnB, marker.id)).toEqual([]);
    expect(await typingBefore(aliceOnA, marker.id)).toEqual([]);
    expect(await typingBefore(bobOnB, marker.id)).toEqual([]);
  });

  it('Redis down: typing reaches the local member only, and is not delivered to B once Redis is back', async () => {
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

    await fleet.redis.stop();
    const typedAt = Date.now();
    aliceOnA.send('typing', { roomId: room.id });
    // Local delivery does not depend on Redis.
    expect((await bobOnA.next('typing')).data).toEqual({ roomId: room.id, userId: alice.id });

    await fleet.redis.start();
    for (const instance of fleet.instances) {
      await waitUntilBackOnRedis(instance);
    }
    // Messages cross live both ways again: what the bus kept for later would have come first.
    await waitUntilLiveBothWays([aliceOnA, carolOnB], room.id, RESUME_TIMEOUT_MS);
    expect(carolOnB.received('typing')).toEqual([]);

    // Positive control: typing after the outage (and past the 2 s interval) crosses again.
    await sleep(Math.max(0, typedAt + TYPING_RELAY_INTERVAL_MS + 100 - Date.now()));
    aliceOnA.send('typing', { roomId: room.id });
    expect((await carolOnB.next('typing')).data).toEqual({ roomId: room.id, userId: alice.id });
  });
});
