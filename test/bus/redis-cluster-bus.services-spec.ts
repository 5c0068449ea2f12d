import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import Redis from 'ioredis';
import { BusMessage, BusModule, MessageBus } from '@libs/bus';
import { RedisModule } from '@libs/redis';
import { ClusterNodeView, RedisClusterProcess, slotOf } from '@test/support/redis-cluster-process';
import { requireTestRedisUrl } from '@test/support/test-redis';
import { sleep, waitUntil } from '@test/support/wait-until';

const DELIVERY_TIMEOUT_MS = 5000;
/** A failover or a node's return: the cluster's own timeouts (2 s) plus our slot-map refresh. */
const RECOVERY_TIMEOUT_MS = 30_000;

/** The channels of one bus, and what each received. */
class Listener {
  readonly received = new Map<string, unknown[]>();

  constructor(readonly bus: MessageBus) {}

  async listen(channel: string): Promise<void> {
    this.received.set(channel, []);
    await this.bus.subscribe(channel, (message: BusMessage) => {
      this.received.get(channel)?.push(message.json());
    });
  }

  count(channel: string): number {
    return this.received.get(channel)?.length ?? 0;
  }
}

/** Sharded pub/sub on a cluster of the suite's own: what the bus does when the cluster changes. */
describe('MessageBus on a Redis Cluster (sharded pub/sub)', () => {
  let keyPrefix: string;
  const modules: TestingModule[] = [];

  async function startBus(cluster: RedisClusterProcess): Promise<MessageBus> {
    const moduleRef = await Test.createTestingModule({
      imports: [RedisModule.forRoot({ clusterNodes: cluster.nodes, keyPrefix }), BusModule],
    }).compile();
    modules.push(moduleRef);
    await moduleRef.init();
    const bus = moduleRef.get(MessageBus);
    // Connected once: no outage seen while the subscribers of several primaries came up.
    expect(bus.status()).toMatchObject({ transport: 'redis', healthy: true, reconnects: 0 });
    return bus;
  }

  /** A channel name whose slot `primary` serves. */
  function channelOn(primary: ClusterNodeView, name: string): string {
    for (let index = 0; ; index += 1) {
      const channel = `${name}:${index}`;
      const slot = slotOf(keyPrefix + channel);
      if (primary.slots.some(([first, last]) => slot >= first && slot <= last)) {
        return channel;
      }
    }
  }

  /** Publishes one numbered message to `channel` and waits until `listener` has `count`. */
  async function deliver(from: MessageBus, to: Listener, channel: string, count: number) {
    await from.publish(channel, { n: count });
    await waitUntil(
      () => to.count(channel) >= count,
      DELIVERY_TIMEOUT_MS,
      `message ${count} on ${channel}`,
    );
  }

  /** Sharded subscribers of `channel` on the node that serves it. */
  async function shardSubscribers(cluster: RedisClusterProcess, channel: string) {
    const slot = slotOf(keyPrefix + channel);
    const owner = (await cluster.primaries()).find((node) =>
      node.slots.some(([first, last]) => slot >= first && slot <= last),
    );
    const client = new Redis(owner?.port ?? 0, '127.0.0.1', { lazyConnect: true });
    try {
      await client.connect();
      const [, count] = (await client.call('PUBSUB', 'SHARDNUMSUB', keyPrefix + channel)) as [
        string,
        number,
      ];
      return Number(count);
    } finally {
      client.disconnect();
    }
  }

  beforeAll(() => {
    // A service suite: it runs under `npm run test:services` only.
    requireTestRedisUrl();
    Logger.overrideLogger(false);
  });

  beforeEach(() => {
    keyPrefix = `switchboard-test-cluster-bus-${randomBytes(4).toString('hex')}:`;
  });

  afterEach(async () => {
    await Promise.all(modules.splice(0).map((moduleRef) => moduleRef.close()));
  });

  describe('three primaries, no replicas', () => {
    let cluster: RedisClusterProcess;

    beforeAll(async () => {
      cluster = await RedisClusterProcess.start({ primaries: 3 });
    });

    afterAll(() => cluster?.stop());

    it('delivers on every primary, only to the instances subscribed there', async () => {
      const a = new Listener(await startBus(cluster));
      const b = new Listener(await startBus(cluster));
      const primaries = await cluster.primaries();
      const shared = primaries.map((primary, index) => channelOn(primary, `room:shared-${index}`));
      for (const channel of shared) {
        await a.listen(channel);
        await b.listen(channel);
      }
      const onlyA = channelOn(primaries[0], 'room:only-a');
      await a.listen(onlyA);
      expect([a.bus.status().reconnects, b.bus.status().reconnects]).toEqual([0, 0]);

      for (const channel of shared) {
        await deliver(a.bus, b, channel, 1);
        await waitUntil(() => a.count(channel) === 1, DELIVERY_TIMEOUT_MS, `A's own ${channel}`);
        // Each channel lives on its primary alone: two subscribers there, one per instance.
        expect(await shardSubscribers(cluster, channel)).toBe(2);
      }
      await deliver(b.bus, a, onlyA, 1);
      // B has no member of onlyA: Redis has no subscriber of B's for it, so nothing is sent to B.
      expect(await shardSubscribers(cluster, onlyA)).toBe(1);
      expect(b.count(onlyA)).toBe(0);
    });

    it('degrades while a primary is down and resubscribes when it is back, without a restart', async () => {
      const a = new Listener(await startBus(cluster));
      const b = new Listener(await startBus(cluster));
      const [victim, survivor] = await cluster.primaries();
      const onVictim = channelOn(victim, 'room:victim');
      const onSurvivor = channelOn(survivor, 'room:survivor');
      await b.listen(onVictim);
      await b.listen(onSurvivor);
      await deliver(a.bus, b, onVictim, 1);

      await cluster.stopNode(victim.port);
      await waitUntil(() => !b.bus.status().healthy, RECOVERY_TIMEOUT_MS, 'B to see the outage');
      await cluster.startNode(victim.port);
      await cluster.waitUntilHealthy();
      await waitUntil(
        () => a.bus.status().healthy && b.bus.status().healthy,
        RECOVERY_TIMEOUT_MS,
        'both healthy again',
      );

      await deliver(a.bus, b, onVictim, 2);
      await deliver(a.bus, b, onSurvivor, 1);
      expect(b.bus.status().reconnects).toBeGreaterThanOrEqual(1);
    });

    it('follows a slot moved to another primary while messages flow', async () => {
      const a = new Listener(await startBus(cluster));
      const b = new Listener(await startBus(cluster));
      const [source, target] = await cluster.primaries();
      const moving = channelOn(source, 'room:moving');
      const staying = channelOn(source, 'room:staying');
      // Another channel of the moving one's node but not its slot: it must not be disturbed.
      expect(slotOf(keyPrefix + staying)).not.toBe(slotOf(keyPrefix + moving));
      await b.listen(moving);
      await b.listen(staying);
      await deliver(a.bus, b, moving, 1);

      let sent = 1;
      let flowing = true;
      const flow = (async () => {
        // Bounded: at most 2,000 messages, one every 5 ms, while the slot moves.
        while (flowing && sent < 2000) {
          sent += 1;
          await a.bus.publish(moving, { n: sent }).catch(() => undefined);
          await sleep(5);
        }
      })();
      await cluster.moveSlot(slotOf(keyPrefix + moving), target.port);
      await sleep(200);
      flowing = false;
      await flow;

      // Subscribed at the new owner: what is published from now on arrives, in full.
      await waitUntil(
        async () => (await shardSubscribers(cluster, moving)) === 1,
        RECOVERY_TIMEOUT_MS,
        `B's subscription of ${moving} on its new primary`,
      );
      const before = b.count(moving);
      for (let n = 1; n <= 20; n += 1) {
        await a.bus.publish(moving, { after: n });
      }
      await waitUntil(() => b.count(moving) >= before + 20, DELIVERY_TIMEOUT_MS, 'after the move');
      await deliver(a.bus, b, staying, 1);
      expect(b.bus.status().healthy).toBe(true);
    });
  });

  describe('three primaries with a replica each', () => {
    let cluster: RedisClusterProcess;

    beforeAll(async () => {
      cluster = await RedisClusterProcess.start({ primaries: 3, replicasPerPrimary: 1 });
    });

    afterAll(() => cluster?.stop());

    it('resumes its subscriptions on the new primary after a failover', async () => {
      const a = new Listener(await startBus(cluster));
      const b = new Listener(await startBus(cluster));
      const [primary] = await cluster.primaries();
      const replica = (await cluster.replicas()).find((node) => node.primaryId === primary.id);
      const channel = channelOn(primary, 'room:failover');
      await b.listen(channel);
      await deliver(a.bus, b, channel, 1);

      await cluster.failover(replica?.port ?? 0);
      await waitUntil(
        async () => (await shardSubscribers(cluster, channel)) === 1,
        RECOVERY_TIMEOUT_MS,
        'B subscribed on the promoted replica',
      );

      await deliver(a.bus, b, channel, 2);
      expect(b.bus.status().healthy).toBe(true);
    });
  });
});
