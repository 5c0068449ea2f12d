import { CloseCode, deleteRoom, logout, postPrivateMessage } from '@libs/client';
import { apiClient, expectStatus } from '@test/support/api-client';
import { logInAgain, registerUser } from '@test/support/auth-helpers';
import { useProcessFleet } from '@test/support/process-fleet';
import { addMember, createRoom, leaveRoom, postMessage } from '@test/support/room-helpers';
import { ServerProcess } from '@test/support/server-process';
import { sleep, waitUntil } from '@test/support/wait-until';

/** Redis restarted: how long a revocation lost meanwhile may take to reach the other instance. */
const CONVERGENCE_MS = 10_000;
/** Longer than a Redis command may wait (REDIS_COMMAND_TIMEOUT_MS's default, 200 ms). */
const COMMAND_TIMED_OUT_MS = 1000;

/** Until `instance` reports Redis (cache, bus) healthy again. */
async function waitUntilBackOnRedis(instance: ServerProcess): Promise<void> {
  await waitUntil(
    async () => {
      const response = await fetch(`${instance.url}/health/ready`);
      const { degraded } = (await response.json()) as { degraded?: string[] };
      return response.ok && degraded?.length === 0;
    },
    15_000,
    'the instance to be back on Redis, nothing degraded',
  );
}

/**
 * Issue 20, guarantee 12: what one instance revokes while Redis is away reaches the others once it
 * is back (each checks its connections' logins and rooms again), and a subscription that failed
 * during a fault is made again. Two server processes on one PostgreSQL database and a
 * redis-server of this suite's own, which the tests stop, freeze and start again.
 */
describe('state that converges after a Redis blip (services)', () => {
  const fleet = useProcessFleet(2, {
    WS_MESSAGE_RATE: '1000',
    // Not about load shedding: a busy test machine must not answer 503.
    SHED_MAX_EVENT_LOOP_DELAY_MS: '0',
  });
  const connect = fleet.connect;

  afterEach(async () => {
    // Each test leaves Redis running, whatever it did to it, and both instances back on it.
    await fleet.redis.start();
    fleet.redis.resume();
    for (const instance of fleet.instances) {
      await waitUntilBackOnRedis(instance);
    }
  });

  it('a logout on A while Redis is down closes that login on B with 4401 once Redis is back', async () => {
    const [instanceA, instanceB] = fleet.instances;
    const alice = await registerUser(instanceA);
    const secondLogin = await logInAgain(instanceA, alice);
    const aliceOnB = await connect(instanceB, alice);
    const aliceElsewhereOnB = await connect(instanceB, { ...alice, ...secondLogin });
    await aliceOnB.request('ping', {}, 'pong');
    await aliceElsewhereOnB.request('ping', {}, 'pong');

    await fleet.redis.stop();
    await expectStatus(
      logout({ client: apiClient(instanceA), body: { refreshToken: alice.refreshToken } }),
      204,
    );
    await fleet.redis.start();

    const closed = await Promise.race([
      aliceOnB.closed,
      sleep(CONVERGENCE_MS).then(() => 'still open'),
    ]);
    expect(closed).toEqual({ code: CloseCode.TokenExpired, reason: expect.any(String) });
    // The same user's other login on the same instance is untouched.
    await aliceElsewhereOnB.request('ping', {}, 'pong');
  });

  it('a leave and a room deletion on A while Redis is down take the rooms from B once Redis is back', async () => {
    const [instanceA, instanceB] = fleet.instances;
    const owner = await registerUser(instanceA);
    const alice = await registerUser(instanceA);
    const carol = await registerUser(instanceA);
    const privateRoom = await createRoom(instanceA, owner, { visibility: 'private' });
    const publicRoom = await createRoom(instanceA, owner, { visibility: 'public' });
    const doomedRoom = await createRoom(instanceA, owner, { visibility: 'private' });
    for (const member of [alice, carol]) {
      await addMember(instanceA, owner, privateRoom.id, member.id);
    }
    await addMember(instanceA, owner, doomedRoom.id, alice.id);
    const aliceOnB = await connect(instanceB, alice);
    const carolOnB = await connect(instanceB, carol);
    for (const roomId of [privateRoom.id, publicRoom.id, doomedRoom.id]) {
      await aliceOnB.request('join', { roomId }, 'joined');
    }
    for (const roomId of [privateRoom.id, publicRoom.id]) {
      await carolOnB.request('join', { roomId }, 'joined');
    }

    await fleet.redis.stop();
    await leaveRoom(instanceA, alice, privateRoom.id);
    await leaveRoom(instanceA, alice, publicRoom.id);
    await expectStatus(
      deleteRoom({ client: apiClient(instanceA, owner.accessToken), path: { id: doomedRoom.id } }),
      204,
    );
    await fleet.redis.start();

    const left = new Set<string>();
    for (let count = 0; count < 3; count++) {
      left.add((await aliceOnB.next('left', CONVERGENCE_MS)).data.roomId);
    }
    expect(left).toEqual(new Set([privateRoom.id, publicRoom.id, doomedRoom.id]));

    // Carol, who stayed, still gets both rooms' messages live on B; alice gets neither.
    await waitUntilBackOnRedis(instanceA);
    await waitUntilBackOnRedis(instanceB);
    const inPrivate = await postMessage(instanceA, owner, privateRoom.id);
    const inPublic = await postMessage(instanceA, owner, publicRoom.id);
    const carolGot = [
      (await carolOnB.next('message')).data.id,
      (await carolOnB.next('message')).data.id,
    ];
    expect(carolGot).toEqual([inPrivate.id, inPublic.id]);
    await aliceOnB.request('ping', {}, 'pong');
    expect(aliceOnB.received('message')).toEqual([]);
  });

  it('a private-message subscription that failed while Redis was frozen is made again', async () => {
    const [instanceA, instanceB] = fleet.instances;
    const sender = await registerUser(instanceA);
    const dave = await registerUser(instanceA);
    const frank = await registerUser(instanceA);
    const client = apiClient(instanceA, sender.accessToken);
    const sendPrivately = async (to: { id: string }, body: string) =>
      expectStatus(postPrivateMessage({ client, path: { id: to.id }, body: { body } }), 201);
    // Frank's subscription is made before the freeze: his first message crosses.
    const frankOnB = await connect(instanceB, frank);
    await waitUntil(
      async () => {
        await sendPrivately(frank, 'before the freeze');
        await sleep(200);
        return frankOnB.received('message').length > 0;
      },
      CONVERGENCE_MS,
      "frank's private message live on B",
    );

    fleet.redis.pause();
    // Dave's first connection on B subscribes his private channel, which times out.
    const daveOnB = await connect(instanceB, dave);
    await daveOnB.request('ping', {}, 'pong');
    await sleep(COMMAND_TIMED_OUT_MS);
    fleet.redis.resume();
    await waitUntilBackOnRedis(instanceA);
    await waitUntilBackOnRedis(instanceB);

    // Frank's subscription, made before the freeze, still works (the control).
    const toFrank = await sendPrivately(frank, 'after the freeze');
    await frankOnB.takeThrough('message', (message) => message.id === toFrank.id);
    // Dave's arrives once B has subscribed again (bounded: one message every 500 ms).
    const sent: string[] = [];
    await waitUntil(
      async () => {
        if (daveOnB.received('message').length > 0) {
          return true;
        }
        sent.push((await sendPrivately(dave, 'to dave')).id);
        await sleep(500);
        return daveOnB.received('message').length > 0;
      },
      CONVERGENCE_MS,
      "dave's private message live on B",
    );
    expect(sent).toContain((await daveOnB.next('message')).data.id);
  });

  it('a join whose subscription fails answers an error and leaves nothing of the connection in the room', async () => {
    const [instanceA, instanceB] = fleet.instances;
    const owner = await registerUser(instanceA);
    const gina = await registerUser(instanceA);
    const hank = await registerUser(instanceA);
    const room = await createRoom(instanceA, owner, { visibility: 'public' });
    const ginaOnB = await connect(instanceB, gina);
    const hankOnB = await connect(instanceB, hank);
    await ginaOnB.request('ping', {}, 'pong');
    await hankOnB.request('ping', {}, 'pong');

    fleet.redis.pause();
    // No connection on B is in the room yet: this join has to subscribe its channels.
    const refused = await ginaOnB.request('join', { roomId: room.id }, 'error');
    expect(refused.data.code).toBe('internal');
    fleet.redis.resume();
    await waitUntilBackOnRedis(instanceB);

    await hankOnB.request('join', { roomId: room.id }, 'joined');
    // Stored on B itself: local delivery reaches whoever is in the room there.
    const message = await postMessage(instanceB, owner, room.id);
    expect((await hankOnB.next('message')).data.id).toBe(message.id);
    await ginaOnB.request('ping', {}, 'pong');
    expect(ginaOnB.received('message')).toEqual([]);
    expect(ginaOnB.received('presence')).toEqual([]);
  });
});
