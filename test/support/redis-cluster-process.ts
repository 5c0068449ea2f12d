import { ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import calculateSlot from 'cluster-key-slot';
import Redis from 'ioredis';
import { acceptsConnections, findFreePort } from './network';
import { settlesWithin, sleep } from './wait-until';

const HOST = '127.0.0.1';
const DEFAULT_NODE_TIMEOUT_MS = 2000;
const START_TIMEOUT_MS = 10_000;
const CREATE_TIMEOUT_MS = 60_000;
const HEALTHY_TIMEOUT_MS = 30_000;
/** A primary with replicas waits up to shutdown-timeout (10 s) for them on SIGTERM. */
const STOP_TIMEOUT_MS = 15_000;
const KILL_TIMEOUT_MS = 5000;
const MIGRATE_BATCH = 100;
const MIGRATE_TIMEOUT_MS = 5000;
const POLL_MS = 50;
const OUTPUT_TAIL = 4000;

/** The hash slot (0–16383) of `key`, hash tags included, as Redis Cluster and ioredis compute it. */
export function slotOf(key: string | Buffer): number {
  return calculateSlot(key);
}

export interface RedisClusterOptions {
  primaries: number;
  /** 0 unless given. */
  replicasPerPrimary?: number;
  /** cluster-node-timeout: how long a node may be silent before it counts as failing. */
  nodeTimeoutMs?: number;
}

/** One node as CLUSTER NODES shows it. */
export interface ClusterNodeView {
  port: number;
  id: string;
  role: 'primary' | 'replica';
  /** A replica's primary; null for a primary. */
  primaryId: string | null;
  /** The slot ranges it serves, both ends included, e.g. [[0, 5460]]. */
  slots: [number, number][];
  /** As CLUSTER NODES gives them: myself, master, slave, fail?, fail… */
  flags: string[];
}

/** used_cpu_sys + used_cpu_user (INFO cpu) of the running nodes, in seconds. */
export interface ClusterCpuSeconds {
  /** Summed over the running primaries. */
  primaries: number;
  nodes: { port: number; role: 'primary' | 'replica'; seconds: number }[];
}

/** One slot range of CLUSTER SLOTS: who serves it. */
interface SlotOwner {
  start: number;
  end: number;
  primaryId: string;
  primaryPort: number;
  replicaIds: string[];
}

/**
 * A Redis Cluster of the test's own: redis-server processes on free ports of 127.0.0.1, without
 * persistence, their cluster config in a temp dir. A node can be stopped and started again on
 * the same port (it rejoins), failed over, and a slot moved live. Stop it in afterAll.
 */
export class RedisClusterProcess {
  private readonly children = new Map<number, ChildProcess>();
  private readonly outputs = new Map<number, string>();
  /** CLUSTER NODES as it was just before stopNode: what waitForAutomaticFailover waits for. */
  private readonly beforeStop = new Map<number, { node: ClusterNodeView; replicaIds: string[] }>();
  private stopped = false;
  private readonly killOnExit = () => this.children.forEach((child) => child.kill('SIGKILL'));

  private constructor(
    readonly directory: string,
    /** Each node's port and its cluster bus port (free too: port + 10000 may be out of range). */
    private readonly busPorts: ReadonlyMap<number, number>,
    private readonly nodeTimeoutMs: number,
  ) {}

  static async start(options: RedisClusterOptions): Promise<RedisClusterProcess> {
    const replicas = options.replicasPerPrimary ?? 0;
    const count = options.primaries * (1 + replicas);
    // redis-cli refuses fewer than 3 primaries.
    if (options.primaries < 3) {
      throw new Error('a Redis Cluster needs at least 3 primaries');
    }
    const ports = await distinctFreePorts(count * 2);
    const busPorts = new Map(
      ports.slice(0, count).map((port, index) => [port, ports[count + index]]),
    );
    const cluster = new RedisClusterProcess(
      mkdtempSync(join(tmpdir(), 'switchboard-redis-cluster-')),
      busPorts,
      options.nodeTimeoutMs ?? DEFAULT_NODE_TIMEOUT_MS,
    );
    process.on('exit', cluster.killOnExit);
    try {
      await Promise.all([...busPorts.keys()].map((port) => cluster.startNode(port)));
      await execFileAsync(
        'redis-cli',
        [
          '--cluster',
          'create',
          ...cluster.nodes,
          '--cluster-replicas',
          String(replicas),
          '--cluster-yes',
        ],
        { timeout: CREATE_TIMEOUT_MS },
      ).catch((error: Error & { stdout?: string }) => {
        throw new Error(
          `redis-cli --cluster create failed: ${error.message} ${error.stdout ?? ''}`,
        );
      });
      await cluster.waitUntilHealthy();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** The startup nodes, `127.0.0.1:port`. */
  get nodes(): string[] {
    return [...this.busPorts.keys()].map((port) => `${HOST}:${port}`);
  }

  /** What REDIS_CLUSTER_NODES takes: the startup nodes, comma-joined. */
  get nodesSetting(): string {
    return this.nodes.join(',');
  }

  /** The primaries in the live CLUSTER NODES view, those flagged failing left out. */
  async primaries(): Promise<ClusterNodeView[]> {
    return (await this.view()).filter((node) => node.role === 'primary');
  }

  /** The replicas in the live CLUSTER NODES view, those flagged failing left out. */
  async replicas(): Promise<ClusterNodeView[]> {
    return (await this.view()).filter((node) => node.role === 'replica');
  }

  /** Starts a node of this cluster again (same port, config file and dir: it rejoins). */
  async startNode(port: number): Promise<void> {
    const busPort = this.busPorts.get(port);
    if (busPort === undefined) {
      throw new Error(`port ${port} is not a node of this cluster`);
    }
    if (this.stopped) {
      throw new Error('the cluster has been stopped');
    }
    if (this.isRunning(port)) {
      return;
    }
    const child = spawn(
      'redis-server',
      [
        ...['--port', String(port), '--bind', HOST],
        ...['--cluster-enabled', 'yes', '--cluster-port', String(busPort)],
        ...['--cluster-config-file', `nodes-${port}.conf`],
        ...['--cluster-node-timeout', String(this.nodeTimeoutMs)],
        ...['--save', '', '--appendonly', 'no', '--dir', this.directory],
        // A replica's first sync would otherwise wait 5 s for others to share the transfer.
        ...['--repl-diskless-sync-delay', '0'],
      ],
      { cwd: this.directory, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.children.set(port, child);
    const keepTail = (chunk: Buffer) =>
      this.outputs.set(
        port,
        ((this.outputs.get(port) ?? '') + chunk.toString()).slice(-OUTPUT_TAIL),
      );
    child.stdout?.on('data', keepTail);
    child.stderr?.on('data', keepTail);
    let exited: string | undefined;
    child.once('error', (error) => (exited = error.message));
    child.once('exit', (code, signal) => (exited ??= `exited with ${code ?? signal}`));

    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!(await acceptsConnections(port))) {
      if (exited !== undefined || Date.now() > deadline) {
        throw new Error(
          `redis-server on port ${port} did not start (${exited ?? 'timed out'}): ${this.outputs.get(port)?.trim()}`,
        );
      }
      await sleep(POLL_MS);
    }
  }

  /** Stops a node (SIGTERM, as an orderly shutdown) and waits until it has exited. */
  async stopNode(port: number): Promise<void> {
    const child = this.children.get(port);
    if (!child || !this.isRunning(port)) {
      throw new Error(`redis-server on port ${port} is not running`);
    }
    const seen = await this.view().catch(() => []);
    const node = seen.find((candidate) => candidate.port === port);
    if (node) {
      const replicaIds = seen.filter((other) => other.primaryId === node.id).map(({ id }) => id);
      this.beforeStop.set(port, { node, replicaIds });
    }
    await stopChild(child, 'SIGTERM', STOP_TIMEOUT_MS);
  }

  /** Resolves once every running node reports cluster_state:ok and all agree on the slot map. */
  async waitUntilHealthy(timeoutMs = HEALTHY_TIMEOUT_MS): Promise<void> {
    await this.withConnections((connections) =>
      pollFor(() => this.healthProblem(connections).then(([problem]) => problem), timeoutMs),
    );
  }

  /** CLUSTER FAILOVER on a replica; resolves once it is a primary and every node agrees. */
  async failover(replicaPort: number, timeoutMs = HEALTHY_TIMEOUT_MS): Promise<void> {
    await this.withConnections(async (connections) => {
      const replica = await connections.get(replicaPort);
      await replica.call('CLUSTER', 'FAILOVER');
      await pollFor(async () => {
        const [role] = (await replica.call('ROLE')) as [string];
        if (role !== 'master') {
          return `${HOST}:${replicaPort} is still a ${role}`;
        }
        return (await this.healthProblem(connections))[0];
      }, timeoutMs);
    });
  }

  /**
   * After stopNode of a primary with replicas: resolves once one of those replicas serves all of
   * its slots and every running node agrees.
   */
  async waitForAutomaticFailover(deadPrimaryPort: number, timeoutMs?: number): Promise<void> {
    const before = this.beforeStop.get(deadPrimaryPort);
    if (!before || before.node.role !== 'primary' || before.replicaIds.length === 0) {
      throw new Error(`${HOST}:${deadPrimaryPort} was not stopped as a primary with replicas`);
    }
    // Failure detection takes node-timeout, the replicas' election up to twice that.
    const bound = timeoutMs ?? this.nodeTimeoutMs * 5 + 10_000;
    await this.withConnections((connections) =>
      pollFor(async () => {
        const [problem, owners] = await this.healthProblem(connections);
        const stillDead = before.node.slots.some(([start, end]) =>
          owners.some(
            (owner) =>
              owner.start <= end &&
              owner.end >= start &&
              !before.replicaIds.includes(owner.primaryId),
          ),
        );
        return (
          problem ?? (stillDead ? `no replica of ${HOST}:${deadPrimaryPort} took over` : undefined)
        );
      }, bound),
    );
  }

  /**
   * Moves one slot, keys and all, from its primary to the primary on `toPort`, as
   * `redis-cli --cluster reshard` does: IMPORTING, MIGRATING, MIGRATE in batches, then SETSLOT
   * NODE on the target, the source and the other primaries. Resolves once every node agrees.
   */
  async moveSlot(slot: number, toPort: number, timeoutMs = HEALTHY_TIMEOUT_MS): Promise<void> {
    const primaries = await this.primaries();
    const source = primaries.find((node) =>
      node.slots.some(([start, end]) => start <= slot && slot <= end),
    );
    const target = primaries.find((node) => node.port === toPort);
    if (!source || !target) {
      throw new Error(`slot ${slot} has no primary, or ${HOST}:${toPort} is not a primary`);
    }
    if (source.port === target.port) {
      return;
    }
    await this.withConnections(async (connections) => {
      const from = await connections.get(source.port);
      const to = await connections.get(target.port);
      await to.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', source.id);
      await from.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', target.id);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const keys = (await from.callBuffer(
          'CLUSTER',
          'GETKEYSINSLOT',
          slot,
          MIGRATE_BATCH,
        )) as Buffer[];
        if (keys.length === 0) {
          break;
        }
        if (Date.now() > deadline) {
          throw new Error(
            `slot ${slot}: keys still left on ${HOST}:${source.port} after ${timeoutMs} ms`,
          );
        }
        await from.callBuffer('MIGRATE', HOST, toPort, '', 0, MIGRATE_TIMEOUT_MS, 'KEYS', ...keys);
      }
      const others = primaries.filter(
        (node) => node !== source && node !== target && this.isRunning(node.port),
      );
      for (const node of [target, source, ...others]) {
        await (
          await connections.get(node.port)
        ).call('CLUSTER', 'SETSLOT', slot, 'NODE', target.id);
      }
      await pollFor(
        async () => {
          const [problem, owners] = await this.healthProblem(connections);
          const owner = owners.find((range) => range.start <= slot && slot <= range.end);
          return (
            problem ??
            (owner?.primaryId === target.id ? undefined : `slot ${slot} not yet on ${toPort}`)
          );
        },
        Math.max(deadline - Date.now(), POLL_MS),
      );
    });
  }

  /** Redis's own CPU (INFO cpu): per running node, and summed over the primaries. */
  async cpuSeconds(): Promise<ClusterCpuSeconds> {
    return this.withConnections(async (connections) => {
      const nodes = await Promise.all(
        this.runningPorts().map(async (port) => {
          const info = (await (
            await connections.get(port)
          ).call('INFO', 'cpu', 'replication')) as string;
          const field = (name: string) =>
            Number(new RegExp(`^${name}:(\\S+)`, 'm').exec(info)?.[1] ?? 0);
          return {
            port,
            role: /^role:master/m.test(info) ? ('primary' as const) : ('replica' as const),
            seconds: field('used_cpu_sys') + field('used_cpu_user'),
          };
        }),
      );
      const primaries = nodes
        .filter((node) => node.role === 'primary')
        .reduce((total, node) => total + node.seconds, 0);
      return { primaries, nodes };
    });
  }

  /** Kills every node and removes the temp dir. Safe to call more than once. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(
      [...this.children.values()].map((child) => stopChild(child, 'SIGKILL', KILL_TIMEOUT_MS)),
    );
    this.children.clear();
    process.removeListener('exit', this.killOnExit);
    rmSync(this.directory, { recursive: true, force: true });
  }

  private isRunning(port: number): boolean {
    const child = this.children.get(port);
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  private runningPorts(): number[] {
    return [...this.busPorts.keys()].filter((port) => this.isRunning(port));
  }

  /** CLUSTER NODES of the first running node that answers, failing nodes left out. */
  private async view(): Promise<ClusterNodeView[]> {
    return this.withConnections(async (connections) => {
      let lastError: unknown = new Error('no node is running');
      for (const port of this.runningPorts()) {
        try {
          const text = (await (await connections.get(port)).call('CLUSTER', 'NODES')) as string;
          return liveNodes(parseClusterNodes(text));
        } catch (error) {
          lastError = error;
        }
      }
      throw lastError;
    });
  }

  /**
   * Why the cluster is not healthy yet (undefined when it is), and the slot map the running nodes
   * agree on. Healthy: every running node says cluster_state:ok, every replica is in sync with its
   * primary, and all show the same nodes (roles, primaries, slots) and the same CLUSTER SLOTS.
   */
  private async healthProblem(
    connections: NodeConnections,
  ): Promise<[string | undefined, SlotOwner[]]> {
    const views = new Set<string>();
    let owners: SlotOwner[] = [];
    for (const port of this.runningPorts()) {
      const node = await connections.get(port);
      const info = (await node.call('CLUSTER', 'INFO')) as string;
      if (!/^cluster_state:ok/m.test(info)) {
        return [`${HOST}:${port} reports ${/^cluster_state:\w+/m.exec(info)?.[0]}`, []];
      }
      const replication = (await node.call('INFO', 'replication')) as string;
      if (/^role:slave/m.test(replication) && !/^master_link_status:up/m.test(replication)) {
        return [`${HOST}:${port} is a replica not yet in sync with its primary`, []];
      }
      owners = parseClusterSlots(await node.call('CLUSTER', 'SLOTS'));
      const nodes = liveNodes(parseClusterNodes((await node.call('CLUSTER', 'NODES')) as string))
        .map(({ id, role, primaryId, slots }) => ({ id, role, primaryId, slots }))
        .sort((a, b) => a.id.localeCompare(b.id));
      views.add(JSON.stringify({ nodes, owners }));
    }
    if (views.size > 1) {
      return ['the nodes do not agree on the cluster yet', []];
    }
    return [undefined, owners];
  }

  private async withConnections<T>(work: (connections: NodeConnections) => Promise<T>): Promise<T> {
    const connections = new NodeConnections();
    try {
      return await work(connections);
    } finally {
      connections.close();
    }
  }
}

/** Connections to the nodes for one operation, opened on first use and all closed at its end. */
class NodeConnections {
  private readonly clients = new Map<number, Redis>();

  async get(port: number): Promise<Redis> {
    const open = this.clients.get(port);
    if (open && open.status === 'ready') {
      return open;
    }
    open?.disconnect();
    const client = new Redis({
      host: HOST,
      port,
      lazyConnect: true,
      connectTimeout: 2000,
      commandTimeout: MIGRATE_TIMEOUT_MS * 2,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    // A refused connection rejects connect(); the event would only be logged.
    client.on('error', () => undefined);
    this.clients.set(port, client);
    await client.connect();
    return client;
  }

  close(): void {
    this.clients.forEach((client) => client.disconnect());
    this.clients.clear();
  }
}

const execFileAsync = promisify(execFile);

/** Polls `problem` until it reports none; fails after `timeoutMs` with the last one it reported. */
async function pollFor(
  problem: () => Promise<string | undefined>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let last: string | undefined;
    try {
      last = await problem();
    } catch (error) {
      last = (error as Error).message;
    }
    if (last === undefined) {
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(`Redis Cluster: timed out after ${timeoutMs} ms: ${last}`);
    }
    await sleep(POLL_MS);
  }
}

/** `count` ports of 127.0.0.1, free a moment ago and all different. */
async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  for (let attempt = 0; ports.size < count; attempt++) {
    if (attempt > count * 10) {
      throw new Error(`could not find ${count} distinct free ports`);
    }
    ports.add(await findFreePort());
  }
  return [...ports];
}

async function stopChild(
  child: ChildProcess,
  signal: NodeJS.Signals,
  timeoutMs: number,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  if (!(await settlesWithin(exited, timeoutMs)) && signal !== 'SIGKILL') {
    child.kill('SIGKILL');
    await settlesWithin(exited, KILL_TIMEOUT_MS);
  }
}

/** `<id> <ip:port@bus> <flags> <primary> <ping> <pong> <epoch> <link> <slot>…` per line. */
function parseClusterNodes(text: string): ClusterNodeView[] {
  return text
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const [id, address, flags, primary, , , , , ...slots] = line.trim().split(' ');
      const flagList = flags.split(',');
      return {
        port: Number(address.split('@')[0].split(':').pop()),
        id,
        role: flagList.includes('master') ? 'primary' : 'replica',
        primaryId: primary === '-' ? null : primary,
        // Open migrations ("[slot->-id]") are not served slots.
        slots: slots
          .filter((range) => !range.startsWith('['))
          .map((range) => {
            const [start, end = start] = range.split('-').map(Number);
            return [start, end] as [number, number];
          }),
        flags: flagList,
      };
    });
}

/** The nodes not flagged failing (fail, fail?) nor still being met (handshake). */
function liveNodes(nodes: ClusterNodeView[]): ClusterNodeView[] {
  return nodes.filter(
    (node) => !node.flags.some((flag) => flag.startsWith('fail') || flag === 'handshake'),
  );
}

/** CLUSTER SLOTS in a canonical order: each node lists its ranges in an order of its own. */
function parseClusterSlots(reply: unknown): SlotOwner[] {
  return (reply as [number, number, [string, number, string], ...[string, number, string][]][])
    .map(([start, end, primary, ...replicas]) => ({
      start,
      end,
      primaryId: primary[2],
      primaryPort: primary[1],
      replicaIds: replicas.map((replica) => replica[2]).sort(),
    }))
    .sort((a, b) => a.start - b.start);
}
