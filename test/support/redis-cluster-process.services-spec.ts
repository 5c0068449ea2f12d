import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import Redis, { Cluster } from 'ioredis';
import { acceptsConnections } from '@test/support/network';
import { RedisClusterProcess, slotOf } from '@test/support/redis-cluster-process';

const KEYS = 60;

/** Whether a redis-server runs on `port` (its process title is `redis-server 127.0.0.1:<port> …`). */
function redisServerRunsOn(port: number): boolean {
  return spawnSync('pgrep', ['-f', `redis-server 127.0.0.1:${port}`]).status === 0;
}

/** The port's answer to GET, or the error it gives (MOVED when it does not serve the key). */
async function getFrom(port: number, key: string): Promise<string | null> {
  const redis = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0 });
  try {
    return await redis.get(key).catch((error: Error) => error.message);
  } finally {
    redis.disconnect();
  }
}

describe(RedisClusterProcess.name, () => {
  let cluster: RedisClusterProcess;
  let client: Cluster;
  const keys = Array.from({ length: KEYS }, (_, index) => `harness-key-${index}`);

  beforeAll(async () => {
    cluster = await RedisClusterProcess.start({ primaries: 3, replicasPerPrimary: 1 });
    client = new Cluster(
      cluster.nodes.map((node) => ({ host: '127.0.0.1', port: Number(node.split(':')[1]) })),
    );
  });

  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  it('runs 3 primaries with a replica each, the slots shared among the primaries', async () => {
    const primaries = await cluster.primaries();
    const replicas = await cluster.replicas();
    expect(cluster.nodesSetting.split(',')).toHaveLength(6);
    expect(primaries).toHaveLength(3);
    expect(replicas).toHaveLength(3);
    expect(replicas.map((replica) => replica.primaryId).sort()).toEqual(
      primaries.map((primary) => primary.id).sort(),
    );
    const served = primaries
      .flatMap((primary) => primary.slots)
      .reduce((total, [start, end]) => total + end - start + 1, 0);
    expect(served).toBe(16384);
  });

  it('stores keys across the slots of every primary, through the Cluster client', async () => {
    await Promise.all(keys.map((key) => client.set(key, `value of ${key}`)));
    const primaries = await cluster.primaries();
    const owners = new Set(
      keys.map(
        (key) =>
          primaries.find((primary) =>
            primary.slots.some(([start, end]) => start <= slotOf(key) && slotOf(key) <= end),
          )?.port,
      ),
    );
    expect(owners.size).toBe(3);
    expect(await Promise.all(keys.map((key) => client.get(key)))).toEqual(
      keys.map((key) => `value of ${key}`),
    );
  });

  it('moves a slot with its key to another primary, live', async () => {
    const key = keys[0];
    const slot = slotOf(key);
    const primaries = await cluster.primaries();
    const source = primaries.find((primary) =>
      primary.slots.some(([start, end]) => start <= slot && slot <= end),
    );
    const target = primaries.find((primary) => primary !== source);
    await cluster.moveSlot(slot, target!.port);

    expect(await client.get(key)).toBe(`value of ${key}`);
    expect(await getFrom(target!.port, key)).toBe(`value of ${key}`);
    expect(await getFrom(source!.port, key)).toMatch(/^MOVED /);
    const moved = (await cluster.primaries()).find((primary) => primary.port === target!.port);
    expect(moved?.slots).toContainEqual([slot, slot]);
  });

  it('fails a stopped primary over to its replica, which it rejoins as a replica', async () => {
    const key = keys[0];
    const primary = (await cluster.primaries()).find((node) =>
      node.slots.some(([start, end]) => start <= slotOf(key) && slotOf(key) <= end),
    )!;
    const replica = (await cluster.replicas()).find((node) => node.primaryId === primary.id)!;

    await cluster.stopNode(primary.port);
    await cluster.waitForAutomaticFailover(primary.port);
    expect((await cluster.primaries()).map((node) => node.port)).toContain(replica.port);
    expect(await getFrom(replica.port, key)).toBe(`value of ${key}`);

    await cluster.startNode(primary.port);
    await cluster.waitUntilHealthy();
    const rejoined = (await cluster.replicas()).find((node) => node.port === primary.port);
    expect(rejoined?.primaryId).toBe(replica.id);
    expect(await client.get(key)).toBe(`value of ${key}`);
  });

  it('reads the CPU time of every running node', async () => {
    const cpu = await cluster.cpuSeconds();
    expect(cpu.nodes).toHaveLength(6);
    expect(cpu.primaries).toBeGreaterThan(0);
  });

  it('leaves no redis-server and no temp dir behind once stopped, however often stopped', async () => {
    const ports = cluster.nodes.map((node) => Number(node.split(':')[1]));
    expect(ports.filter(redisServerRunsOn)).toEqual(ports);
    client.disconnect();
    await cluster.stop();
    await cluster.stop();

    for (const port of ports) {
      expect(redisServerRunsOn(port)).toBe(false);
      expect(await acceptsConnections(port)).toBe(false);
    }
    expect(existsSync(cluster.directory)).toBe(false);
  });
});
