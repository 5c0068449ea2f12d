import { registerUser } from '@test/support/auth-helpers';
import {
  useProcessFleet,
  waitUntilBackOnRedis,
  waitUntilLiveBothWays,
} from '@test/support/process-fleet';
import { RedisClusterProcess, slotOf } from '@test/support/redis-cluster-process';
import { createRoom } from '@test/support/room-helpers';
import type { ServerProcess } from '@test/support/server-process';
import { sleep, waitUntil } from '@test/support/wait-until';
import { WsTestClient } from '@test/support/ws-test-client';

const KEY_PREFIX = 'cluster-faults:';
/** A failover or a moved slot: the cluster's node timeout (2 s) plus the app's slot-map refresh. */
const RESUME_TIMEOUT_MS = 30_000;
/** Messages sent while the cluster changes: bounded, one every 10 ms. */
const DURING_FAULT = 60;

/**
 * Two server processes on a Redis Cluster of the suite's own (3 primaries, a replica each): what
 * a user sees while the cluster reshards or fails over under them. Live delivery may miss what
 * is published while a subscription moves; `sync` must return every message, in order, and live
 * delivery must come back without a restart of either instance.
 */
describe('two instances on a Redis Cluster while it changes (services)', () => {
  const fleet = useProcessFleet(
    2,
    { WS_MESSAGE_RATE: '1000', REDIS_KEY_PREFIX: KEY_PREFIX },
    { cluster: { replicasPerPrimary: 1 } },
  );
  let instanceA: ServerProcess;
  let instanceB: ServerProcess;
  let cluster: RedisClusterProcess;

  const send = async (from: WsTestClient, roomId: string, body: string) =>
    (await from.request('send', { roomId, body }, 'ack')).data;

  /** Alice on A and Bob on B in a new room; the primary that serves the room's relay channel. */
  async function aRoomAcrossTheInstances() {
    const alice = await registerUser(instanceA);
    const bob = await registerUser(instanceB);
    const room = await createRoom(instanceA, alice);
    const aliceOnA = await fleet.connect(instanceA, alice);
    const bobOnB = await fleet.connect(instanceB, bob);
    await aliceOnA.request('join', { roomId: room.id }, 'joined');
    await bobOnB.request('join', { roomId: room.id }, 'joined');
    const slot = slotOf(`${KEY_PREFIX}relay:room:${room.id}`);
    const owner = (await cluster.primaries()).find((node) =>
      node.slots.some(([first, last]) => slot >= first && slot <= last),
    );
    if (!owner) {
      throw new Error(`no primary serves slot ${slot}`);
    }
    return { alice, room, aliceOnA, bobOnB, slot, owner };
  }

  /** Sends `count` messages, one every 10 ms, while `fault` runs; their acks, in order. */
  async function sendDuring(from: WsTestClient, roomId: string, fault: () => Promise<void>) {
    const acks: { id: string; seq: number }[] = [];
    const sending = (async () => {
      for (let n = 1; n <= DURING_FAULT; n += 1) {
        acks.push(await send(from, roomId, `during ${n}`));
        await sleep(10);
      }
    })();
    await fault();
    await sending;
    return acks;
  }

  /** Every message is in `sync`, in order; then live delivery works both ways again. */
  async function expectNothingLost(
    { room, aliceOnA, bobOnB }: Awaited<ReturnType<typeof aRoomAcrossTheInstances>>,
    acks: { id: string; seq: number }[],
    firstSeq: number,
  ) {
    // Every page of `sync` (it pages at 50).
    const synced: { id: string; seq: number }[] = [];
    for (let afterSeq = firstSeq, more = true; more;) {
      const page = (await bobOnB.request('sync', { roomId: room.id, afterSeq }, 'history')).data;
      synced.push(...page.messages);
      afterSeq = page.messages.at(-1)?.seq ?? afterSeq;
      more = page.hasMore;
    }
    expect(synced.map((message) => message.id)).toEqual(acks.map((ack) => ack.id));
    expect(synced.map((message) => message.seq)).toEqual(
      acks.map((_, index) => firstSeq + 1 + index),
    );
    await waitUntilLiveBothWays([aliceOnA, bobOnB], room.id, RESUME_TIMEOUT_MS);
  }

  beforeAll(() => {
    [instanceA, instanceB] = fleet.instances;
    cluster = fleet.redis.cluster!;
  });

  it("a room's relay slot moved to another primary while messages flow", async () => {
    const across = await aRoomAcrossTheInstances();
    const first = await send(across.aliceOnA, across.room.id, 'before');
    expect((await across.bobOnB.next('message')).data.id).toBe(first.id);
    const target = (await cluster.primaries()).find((node) => node.id !== across.owner.id)!;

    const acks = await sendDuring(across.aliceOnA, across.room.id, () =>
      cluster.moveSlot(across.slot, target.port),
    );

    await expectNothingLost(across, acks, first.seq);
  });

  it("a failover of the primary that serves the room's relay channel", async () => {
    const across = await aRoomAcrossTheInstances();
    const first = await send(across.aliceOnA, across.room.id, 'before');
    expect((await across.bobOnB.next('message')).data.id).toBe(first.id);
    const replica = (await cluster.replicas()).find((node) => node.primaryId === across.owner.id);

    const acks = await sendDuring(across.aliceOnA, across.room.id, () =>
      cluster.failover(replica!.port),
    );

    await expectNothingLost(across, acks, first.seq);
  });

  it('a primary lost without a replica: degraded until it is back, then nothing lost', async () => {
    const across = await aRoomAcrossTheInstances();
    const first = await send(across.aliceOnA, across.room.id, 'before');
    expect((await across.bobOnB.next('message')).data.id).toBe(first.id);
    // Its replica goes first, so that nothing takes over: the slots of the primary are down.
    const replica = (await cluster.replicas()).find((node) => node.primaryId === across.owner.id);
    await cluster.stopNode(replica!.port);
    await cluster.stopNode(across.owner.port);
    // The cluster stops serving (full coverage is required): both instances degrade, as with
    // one Redis down, and stay ready.
    for (const instance of [instanceA, instanceB]) {
      await waitUntil(
        async () => {
          const response = await fetch(`${instance.url}/health/ready`);
          const { degraded } = (await response.json()) as { degraded?: string[] };
          return response.ok && degraded?.includes('bus') === true && degraded.includes('cache');
        },
        RESUME_TIMEOUT_MS,
        'ready, with the bus and the cache degraded',
      );
    }

    // Local delivery goes on: Alice's second connection on A gets what she sends on A.
    const secondOnA = await fleet.connect(instanceA, across.alice);
    await secondOnA.request('join', { roomId: across.room.id }, 'joined');
    const during: { id: string; seq: number }[] = [];
    for (let n = 1; n <= 3; n += 1) {
      during.push(await send(across.aliceOnA, across.room.id, `while down ${n}`));
    }
    await waitUntil(
      () => during.every(({ id }) => secondOnA.received('message').some((m) => m.id === id)),
      5000,
      'the messages live on A',
    );

    await cluster.startNode(across.owner.port);
    await cluster.startNode(replica!.port);
    await cluster.waitUntilHealthy();
    await waitUntilBackOnRedis(instanceA);
    await waitUntilBackOnRedis(instanceB);
    await expectNothingLost(across, during, first.seq);
  });
});
