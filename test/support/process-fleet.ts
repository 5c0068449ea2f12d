import { RegisteredUser } from './auth-helpers';
import { RedisClusterProcess } from './redis-cluster-process';
import { RedisServerProcess } from './redis-server-process';
import { createServerSetup, ServerProcess, ServerSetup } from './server-process';
import { requireTestDatabaseUrl } from './test-database';
import { requireTestRedisUrl, testRedisClusterNodes } from './test-redis';
import { sleep, waitUntil } from './wait-until';
import { useWsTestClients, WsTestClient } from './ws-test-client';

/**
 * The fleet's own Redis: one redis-server, or in the cluster pass of `npm run test:services` a
 * 3-primary cluster. A suite may stop it and start it again on the same ports; pausing
 * (SIGSTOP) is for one server only.
 */
export interface FleetRedis {
  readonly environment: Record<string, string>;
  stop(): Promise<void>;
  start(): Promise<void>;
  pause(): void;
  resume(): void;
  /** After the suite: stops it for good and removes what it kept on disk. */
  dispose(): Promise<void>;
  /** The cluster, when the fleet runs on one: for its own faults (a slot moved, a failover). */
  readonly cluster?: RedisClusterProcess;
}

export interface ProcessFleetOptions {
  /**
   * A cluster of the suite's own, whatever the pass (by default one only in the cluster pass of
   * `npm run test:services`), with this many replicas per primary.
   */
  cluster?: { replicasPerPrimary: number };
}

/** Server processes of one fleet: one PostgreSQL database, one JWT secret, one Redis. */
export interface ProcessFleet {
  readonly redis: FleetRedis;
  readonly instances: readonly ServerProcess[];
  /** A WebSocket client of `user` on `instance`, closed after the test. */
  connect(instance: ServerProcess, user: RegisteredUser): Promise<WsTestClient>;
}

/**
 * Starts `size` server processes on a redis-server of the suite's own (so that it can fail
 * without disturbing other suites) before the suite, closes each test's clients after it, and
 * stops everything after the suite.
 */
export function useProcessFleet(
  size: number,
  environment: Record<string, string> = {},
  options: ProcessFleetOptions = {},
): ProcessFleet {
  let redis: FleetRedis | undefined;
  let setup: ServerSetup | undefined;
  let instances: ServerProcess[] = [];

  beforeAll(async () => {
    requireTestDatabaseUrl();
    requireTestRedisUrl();
    redis = await startFleetRedis(options);
    setup = await createServerSetup({ ...redis.environment, ...environment });
    const { environment: serverEnvironment } = setup;
    instances = await Promise.all(
      Array.from({ length: size }, () => ServerProcess.start(serverEnvironment)),
    );
  });

  const clients = useWsTestClients();

  afterAll(async () => {
    await Promise.all(instances.map((instance) => instance.kill()));
    await setup?.remove();
    await redis?.dispose();
  });

  return {
    get redis() {
      if (!redis) {
        throw new Error('The fleet starts in beforeAll');
      }
      return redis;
    },
    get instances() {
      return instances;
    },
    connect: clients.connect,
  };
}

async function startFleetRedis(options: ProcessFleetOptions): Promise<FleetRedis> {
  if (!options.cluster && !testRedisClusterNodes()) {
    const server = await RedisServerProcess.start();
    return {
      environment: { REDIS_URL: server.url },
      stop: () => server.stop(),
      start: () => server.start(),
      pause: () => server.pause(),
      resume: () => server.resume(),
      dispose: () => server.stop(),
    };
  }
  const cluster = await RedisClusterProcess.start({
    primaries: 3,
    replicasPerPrimary: options.cluster?.replicasPerPrimary ?? 0,
  });
  const ports = cluster.nodes.map((node) => Number(node.slice(node.lastIndexOf(':') + 1)));
  const onOneServerOnly = () => {
    throw new Error('Pausing is for one redis-server: leave this suite out of the cluster pass');
  };
  return {
    environment: { REDIS_CLUSTER_NODES: cluster.nodesSetting },
    stop: async () => {
      await Promise.all(ports.map((port) => cluster.stopNode(port)));
    },
    start: async () => {
      await Promise.all(ports.map((port) => cluster.startNode(port)));
      await cluster.waitUntilHealthy();
    },
    pause: onOneServerOnly,
    resume: onOneServerOnly,
    dispose: () => cluster.stop(),
    cluster,
  };
}

/** Until `instance` reports Redis (cache, bus) healthy again: after a suite's Redis fault. */
export async function waitUntilBackOnRedis(instance: ServerProcess): Promise<void> {
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

/** After a probe is sent, how long it gets to arrive before the next one. */
const LIVE_PROBE_WAIT_MS = 500;

/**
 * Once Redis (or a cluster) is back: sends probes from each client of `pair` to the other until
 * one arrives live, within `timeoutMs`, then one more message each way, which must arrive too.
 */
export async function waitUntilLiveBothWays(
  pair: readonly [WsTestClient, WsTestClient],
  roomId: string,
  timeoutMs: number,
): Promise<void> {
  const send = async (from: WsTestClient, body: string) =>
    (await from.request('send', { roomId, body }, 'ack')).data;
  const arrived = (to: WsTestClient, id: string) =>
    to.received('message').some((message) => message.id === id);
  for (const [from, to] of [pair, [pair[1], pair[0]] as const]) {
    await waitUntil(
      async () => {
        const probe = await send(from, 'probe');
        await sleep(LIVE_PROBE_WAIT_MS);
        return arrived(to, probe.id);
      },
      timeoutMs,
      'live delivery across the instances',
    );
    const after = await send(from, 'after the probes');
    await waitUntil(() => arrived(to, after.id), 5000, 'the next message, live');
  }
}
