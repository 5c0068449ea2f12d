import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import type { RelayResult } from '@bench/load/relay-load';
import { Figure, figureOf, Sample, samplesOfDetail } from '@bench/report/figure';
import { ApiClient, BenchUser } from '@bench/support/api-client';
import { createBenchDatabase, createBenchRedisPrefix } from '@bench/support/bench-databases';
import { BenchWorker } from '@bench/support/bench-worker';
import { ALL_CORES, LOAD_CORE, SERVER_CORE } from '@bench/support/cores';
import { measureCpu } from '@bench/support/cpu-meter';
import { processTreeCpuSeconds } from '@bench/support/process-cpu';
import { ResourceScope } from '@bench/support/resource-scope';
import { SwitchboardServer } from '@bench/support/switchboard-server';
import { parsePrometheusText, sumOf } from '@test/support/prometheus-text';
import { RedisClusterProcess } from '@test/support/redis-cluster-process';
import { interleavedRounds, Measurement, Scenario, ScenarioContext } from './scenario';
import { webSocketUrl } from './websocket-setup';

const ROOMS = 200;
const MEMBERS_PER_ROOM = 5;
const SENDER_CONNECTIONS = 4;
/** Sends in flight per sender connection. */
const WINDOW = 8;
const DRAIN_TIMEOUT_MS = 10_000;
const CLUSTER_PRIMARIES = 3;
/** The counter the instances will expose: relay messages received, routed="false" when no local member. */
const RELAY_RECEIVED = 'switchboard_relay_received_total';
/** What the bus dropped before the relay saw it: received for a channel nobody here holds. */
const BUS_UNROUTED = 'switchboard_bus_unrouted_messages';

/** What carries the relay: the bench's single Redis, or a Redis Cluster of the scenario's own. */
interface RelayBackend {
  side: 'singleRedis' | 'redisCluster';
  title: string;
  /** The setting that points the app at it: REDIS_URL or REDIS_CLUSTER_NODES. */
  setting: string;
  /** That setting and the key prefix both instances share. */
  environment: Record<string, string>;
  /** Redis CPU seconds so far (INFO cpu: used_cpu_sys + used_cpu_user), over every primary. */
  cpuSeconds(): Promise<number>;
}

/** Two instances on one database and one Redis, the members on B, the senders on A. */
interface Fleet {
  senders: SwitchboardServer;
  members: SwitchboardServer;
  load: BenchWorker;
  roomIds: string[];
}

/**
 * The members' instance gets frames only through Redis: A commits a message and publishes it, B
 * receives it and writes it to its members. Two cores: A on the server core, B on the load core
 * with the load generator (B's part, writing frames it was handed, is the lighter one).
 */
async function startFleet(
  context: ScenarioContext,
  scope: ResourceScope,
  backend: RelayBackend,
): Promise<Fleet | string> {
  const { postgresAdminUrl = '' } = context.services;
  const environment = {
    DATABASE_URL: await createBenchDatabase(scope, postgresAdminUrl),
    // One secret: a token from either instance is good on both.
    JWT_SECRET: randomBytes(32).toString('hex'),
    // Rate-limited on every frame but never refused, as UNREFUSING_LIMITS does for the others.
    WS_MESSAGE_RATE: '100000000',
    ...backend.environment,
  };
  const start = (cores: string) =>
    SwitchboardServer.start(scope, { cores, profile: context.settings.profile, environment });
  const senders = await start(SERVER_CORE);
  const members = await start(LOAD_CORE);
  for (const server of [senders, members]) {
    if (!(await reportsBus(server))) {
      return `${backend.title}: the instances run without Redis (/health/ready has no bus): the app does not take ${backend.setting} yet`;
    }
  }
  const api = new ApiClient(senders.url);
  const owner = await api.registerUser();
  const memberUsers: BenchUser[] = [];
  while (memberUsers.length < MEMBERS_PER_ROOM) {
    memberUsers.push(await api.registerUser());
  }
  const roomIds: string[] = [];
  while (roomIds.length < ROOMS) {
    roomIds.push(await api.createRoom(owner, `bench relay ${roomIds.length}`));
  }
  const load = BenchWorker.start(scope, 'load/relay-load', LOAD_CORE);
  await load.request('open', {
    membersUrl: webSocketUrl(members.url),
    sendersUrl: webSocketUrl(senders.url),
    roomIds,
    // The `join` frame makes each of them a member of the public room.
    memberTokens: memberUsers.map((user) => user.accessToken),
    senderToken: owner.accessToken,
    senderConnections: SENDER_CONNECTIONS,
    concurrency: 20,
    seconds: 120,
  });
  return { senders, members, load, roomIds };
}

/** Whether the instance reports its bus (Redis) in /health/ready, as it does when it has one. */
async function reportsBus(server: SwitchboardServer): Promise<boolean> {
  const response = await fetch(`${server.url}/health/ready`, {
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await response.json()) as { details?: Record<string, unknown> };
  return body.details?.bus !== undefined;
}

interface RelayCounts {
  routed: number;
  unrouted: number;
}

/** The instance's relay counter by `routed`; undefined while the app does not expose it. */
async function relayReceived(server: SwitchboardServer): Promise<RelayCounts | undefined> {
  const response = await fetch(`${server.url}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const samples = parsePrometheusText(await response.text());
  if (!samples.some((sample) => sample.name === RELAY_RECEIVED)) {
    return undefined;
  }
  return {
    routed: sumOf(samples, RELAY_RECEIVED, { routed: 'true' }),
    unrouted:
      sumOf(samples, RELAY_RECEIVED, { routed: 'false' }) + sumOf(samples, BUS_UNROUTED, {}),
  };
}

/** % of `counts` for rooms without a local member; NaN (n/a) when a count is missing or none came. */
function unroutedPercent(...counts: (RelayCounts | undefined)[]): number {
  const known = counts.filter((count): count is RelayCounts => count !== undefined);
  if (known.length < counts.length) {
    return Number.NaN;
  }
  const unrouted = known.reduce((sum, count) => sum + count.unrouted, 0);
  const total = known.reduce((sum, count) => sum + count.routed + count.unrouted, 0);
  return total > 0 ? (100 * unrouted) / total : Number.NaN;
}

function difference(before?: RelayCounts, after?: RelayCounts): RelayCounts | undefined {
  return before && after
    ? { routed: after.routed - before.routed, unrouted: after.unrouted - before.unrouted }
    : undefined;
}

function relayMeasurement(fleet: Fleet, backend: RelayBackend): Measurement {
  const instances = [fleet.senders, fleet.members];
  return async (seconds): Promise<Sample> => {
    const redisBefore = await backend.cpuSeconds();
    const countersBefore = await Promise.all(instances.map(relayReceived));
    const membersCpuBefore = processTreeCpuSeconds(fleet.members.pid);
    const { result, cpu } = await measureCpu(fleet.senders.pid, () =>
      fleet.load.request<RelayResult>(
        'relay',
        {
          roomIds: fleet.roomIds,
          membersPerRoom: MEMBERS_PER_ROOM,
          seconds,
          window: WINDOW,
          drainTimeoutMs: DRAIN_TIMEOUT_MS,
        },
        seconds * 1000 + DRAIN_TIMEOUT_MS + 60_000,
      ),
    );
    const membersCpuSeconds = processTreeCpuSeconds(fleet.members.pid) - membersCpuBefore;
    const redisCpuSeconds = (await backend.cpuSeconds()) - redisBefore;
    const countersAfter = await Promise.all(instances.map(relayReceived));
    const relayed = result.deliveries / MEMBERS_PER_ROOM;
    const [sendersRelay, membersRelay] = instances.map((_, index) =>
      difference(countersBefore[index], countersAfter[index]),
    );
    return {
      value: relayed / Math.max(result.seconds, 1e-3),
      cpu,
      errors: result.missing + result.refused,
      details: {
        deliveriesPerSecond: result.deliveries / Math.max(result.seconds, 1e-3),
        redisCpuMicrosPerMessage: (redisCpuSeconds * 1e6) / Math.max(relayed, 1),
        unroutedPercent: unroutedPercent(sendersRelay, membersRelay),
        sendersInstanceUnroutedPercent: unroutedPercent(sendersRelay),
        membersInstanceUnroutedPercent: unroutedPercent(membersRelay),
        relayReceived: [sendersRelay, membersRelay].reduce(
          (sum, count) => sum + (count ? count.routed + count.unrouted : Number.NaN),
          0,
        ),
        membersInstanceCpuPercent: (100 * membersCpuSeconds) / cpu.wallSeconds,
        acked: result.acked,
        closedMembers: result.closedMembers,
        clientCpuPercent: result.clientCpuPercent,
      },
    };
  };
}

/** The bench's single Redis, its keys under a prefix of the bench's own. */
function singleRedis(scope: ResourceScope, redisUrl: string): RelayBackend {
  return {
    side: 'singleRedis',
    title: 'single Redis',
    setting: 'REDIS_URL',
    environment: {
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: createBenchRedisPrefix(scope, redisUrl),
    },
    cpuSeconds: () => redisCpuSeconds(redisUrl),
  };
}

async function redisCpuSeconds(url: string): Promise<number> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    const info = await redis.info('cpu');
    const field = (name: string) => Number(new RegExp(`^${name}:(\\S+)`, 'm').exec(info)?.[1]);
    return field('used_cpu_sys') + field('used_cpu_user');
  } finally {
    redis.disconnect();
  }
}

/**
 * A Redis Cluster of 3 primaries (no replicas) for this scenario, stopped with `scope`. Started
 * with the runner unpinned for a moment, so that its nodes, like the bench's single Redis, may
 * run on any core (children inherit the runner's pinning to the load core).
 */
async function redisCluster(scope: ResourceScope): Promise<RelayBackend> {
  const pin = (cores: string) =>
    execFileSync('taskset', ['-pc', cores, String(process.pid)], { stdio: 'ignore' });
  pin(ALL_CORES);
  let cluster: RedisClusterProcess;
  try {
    cluster = await RedisClusterProcess.start({ primaries: CLUSTER_PRIMARIES });
  } finally {
    pin(LOAD_CORE);
  }
  scope.add(() => cluster.stop());
  return {
    side: 'redisCluster',
    title: `${CLUSTER_PRIMARIES}-primary Redis Cluster`,
    setting: 'REDIS_CLUSTER_NODES',
    environment: {
      REDIS_CLUSTER_NODES: cluster.nodesSetting,
      REDIS_KEY_PREFIX: `switchboard-bench-${process.pid}:`,
    },
    cpuSeconds: async () => (await cluster.cpuSeconds()).primaries,
  };
}

function relayFigures(backend: RelayBackend, samples: Sample[]): Figure[] {
  const common = {
    scenario: 'fleet-relay',
    notes: [
      `${ROOMS} public rooms, ${MEMBERS_PER_ROOM} members each connected to instance B (one connection per member and room); ${SENDER_CONNECTIONS} connections of the rooms' owner to instance A send to the rooms in turn, ${WINDOW} sends in flight each; A and B share one PostgreSQL database, so every message reaches B's members only through the relay`,
      'instance A on core 0; instance B, the load generator and the runner on core 1 (two cores: one instance has to share); PostgreSQL and Redis unpinned; WS_MESSAGE_RATE set so high that no send is refused',
    ],
  };
  const suffix = backend.side === 'redisCluster' ? '-cluster' : '';
  return [
    figureOf({
      ...common,
      id: `fleet-relay-rate${suffix}`,
      title: `two instances, relay through ${backend.title}: messages relayed/s`,
      unit: '/s',
      better: 'higher',
      switchboard: { title: `Switchboard ×2, ${backend.title}`, samples },
      notes: [
        ...common.notes,
        'messages delivered to all their members on B per second, from the first send to the last receipt of the round (deliveries / members per room); missing deliveries and refused sends are errors',
      ],
    }),
    figureOf({
      ...common,
      id: `fleet-relay-redis-cpu${suffix}`,
      title: `two instances, relay through ${backend.title}: Redis CPU per relayed message`,
      unit: 'µs',
      better: 'lower',
      switchboard: {
        title: `Switchboard ×2, ${backend.title}`,
        samples: samplesOfDetail(samples, 'redisCpuMicrosPerMessage'),
      },
      notes: [
        ...common.notes,
        "INFO cpu (used_cpu_sys + used_cpu_user) before and after the round, of the single Redis or summed over the cluster's primaries, divided by the messages relayed; it counts all of Redis's work meanwhile, and the bench's single Redis may serve others",
      ],
    }),
    figureOf({
      ...common,
      id: `fleet-relay-unrouted${suffix}`,
      title: `two instances, relay through ${backend.title}: relay messages received for rooms without a local member`,
      unit: '%',
      better: 'lower',
      switchboard: {
        title: `Switchboard ×2, ${backend.title}`,
        samples: samplesOfDetail(samples, 'unroutedPercent'),
      },
      notes: [
        ...common.notes,
        `${RELAY_RECEIVED}{routed="false"} plus ${BUS_UNROUTED} over all of it, both instances' /metrics before and after the round; n/a while the app does not expose the counter`,
      ],
    }),
  ];
}

/** Sets up one backend's fleet in a scope of its own and measures it; no figures if skipped. */
async function measureBackend(
  context: ScenarioContext,
  backendOf: (scope: ResourceScope) => Promise<RelayBackend> | RelayBackend,
): Promise<{ figures: Figure[]; skipped?: string }> {
  // Each half's processes stop before the next half starts.
  const scope = new ResourceScope();
  try {
    const backend = await backendOf(scope);
    context.log(`  relay through ${backend.title}`);
    const fleet = await startFleet(context, scope, backend);
    if (typeof fleet === 'string') {
      context.log(`  ${fleet}: not measured`);
      return { figures: [], skipped: fleet };
    }
    const samples = await interleavedRounds(context, {
      [backend.side]: relayMeasurement(fleet, backend),
    });
    return { figures: relayFigures(backend, samples[backend.side]) };
  } finally {
    await scope.close();
  }
}

export const fleetRelay: Scenario = {
  name: 'fleet-relay',
  describe: `two instances on one PostgreSQL, ${ROOMS} rooms with ${MEMBERS_PER_ROOM} members each on instance B, senders on A: messages relayed/s, Redis CPU per relayed message and the share of relay messages an instance gets for rooms it has no member of, through single Redis and then a ${CLUSTER_PRIMARIES}-primary Redis Cluster`,
  needs: ['postgresAdminUrl', 'redisUrl'],
  async run(context) {
    const { redisUrl = '' } = context.services;
    const single = await measureBackend(context, (scope) => singleRedis(scope, redisUrl));
    if (single.skipped) {
      throw new Error(single.skipped);
    }
    const cluster = await measureBackend(context, redisCluster);
    const notes = cluster.skipped ? [`not measured: ${cluster.skipped}`] : [];
    return [
      ...single.figures.map((figure) => ({ ...figure, notes: [...figure.notes, ...notes] })),
      ...cluster.figures,
    ];
  },
};
