import { Logger, LoggerService, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import {
  circuitBreaker,
  CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  handleWhen,
} from 'cockatiel';
import Redis, {
  Cluster,
  ClusterOptions,
  Command,
  RedisCommander,
  RedisOptions,
  ReplyError,
} from 'ioredis';
import calculateSlot from 'cluster-key-slot';
import { ClusterSeeds, parseClusterSeeds } from './cluster-seed-nodes';
import { LoopTimeDeadlines, withinLoopTime } from './loop-time-deadlines';
import { COMMAND_TIMED_OUT, commandDeadlines, WatchedCluster, WatchedRedis } from './watched-redis';
import { RedisUnavailableError } from './redis-unavailable.error';

/** The commands every feature sends: the same on one Redis and on a cluster. */
export type RedisCommands = Pick<
  Redis,
  keyof RedisCommander | 'multi' | 'pipeline' | 'sendCommand'
>;

export interface RedisConnectionOptions {
  /** One Redis server (redis:// or rediss://). Exactly one of `url` and `clusterNodes`. */
  url?: string;
  /**
   * Seed nodes of a Redis Cluster (`host:port` or `redis://…`): the client learns the others.
   * Keys that must share a slot carry hash tags (`slotGroup`); pub/sub is sharded.
   */
  clusterNodes?: readonly string[];
  /** Starts every key and channel of the application, so that apps (and test suites) stay apart. */
  keyPrefix: string;
  /**
   * A command that gets no answer within this fails (a hung server, a lost network). Counted in
   * time the event loop was free to read the reply: a stall of this process is not a timeout.
   */
  commandTimeoutMs?: number;
  /** How long start-up waits for Redis before the application carries on without it. */
  connectTimeoutMs?: number;
  /** Consecutive failed commands that open the circuit. */
  failureThreshold?: number;
  /** While the circuit is open, one PING this often tries to close it again. */
  probeIntervalMs?: number;
  /** Reconnection back-off: doubles from the first delay up to the cap, with jitter. */
  retryDelayMs?: { first: number; max: number };
  logger?: LoggerService;
}

export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 200;
const DEFAULT_CONNECT_TIMEOUT_MS = 2_000;
const DEFAULT_FAILURE_THRESHOLD = 3;
const DEFAULT_PROBE_INTERVAL_MS = 1_000;
const DEFAULT_RETRY_DELAY_MS = { first: 100, max: 2_000 };
/**
 * How often a cluster client asks for the slot map unprompted. A MOVED reply refreshes it at
 * once; the interval bounds how long a subscriber can stay with a node that gave its slot away.
 */
const CLUSTER_SLOTS_REFRESH_MS = 2_000;
/**
 * A whole `run` on a cluster, in command timeouts. ioredis holds a pipeline or MULTI back, unsent
 * and so untimed, while it has no slot map (a failed cluster): a run that waited this long fails.
 */
const CLUSTER_RUN_TIMEOUT_FACTOR = 5;

/** A `run` on a cluster, watched until it settles. */
interface PendingRun {
  settled: boolean;
  reject: (error: Error) => void;
}
/** A QUIT that a frozen Redis does not answer gives way to a hard disconnect after this. */
const QUIT_TIMEOUT_MS = 1_000;

/**
 * The application's one way to Redis: one command connection shared by every feature (cache,
 * bus publishing, rate limits, presence), subscriber connections for pub/sub, and one circuit
 * breaker in front of them all.
 *
 * Everything fails fast: no offline queue, no retried commands, a short command timeout that
 * measures Redis, not our event loop (`LoopTimeDeadlines`). Once `failureThreshold` commands in
 * a row fail (or time out: a hung Redis), the circuit opens and
 * every `run` rejects at once with a `RedisUnavailableError` (callers fall back: in-process
 * counts, cache misses, a refused publish) until a background PING gets an answer again.
 */
export class RedisConnection implements OnModuleInit, OnApplicationShutdown {
  /** The shared command connection. Send through `run`, so that the breaker sees the outcome. */
  readonly client: RedisCommands;
  readonly keyPrefix: string;
  /** host:port only (the seeds' for a cluster): a URL may carry a password, kept out of logs. */
  readonly endpoint: string;
  /** Undefined for one Redis. */
  private readonly cluster: Cluster | undefined;
  private readonly seeds: ClusterSeeds | undefined;
  private readonly commandClient: Redis | Cluster;
  private readonly topologyListeners = new Set<() => void>();
  private readonly runDeadlines: LoopTimeDeadlines<PendingRun> | undefined;
  private slotOwnersSeen = '';
  private readonly breaker: CircuitBreakerPolicy;
  private readonly deadlines: LoopTimeDeadlines<Command>;
  private readonly logger: LoggerService;
  private readonly subscribers = new Set<Redis>();
  private readonly listeners = new Set<() => void>();
  private probeTimer: NodeJS.Timeout | undefined;
  private connecting: Promise<void> | undefined;
  private closed = false;
  private wasAvailable = false;
  private outageSince: number | undefined;
  private lastError: string | undefined;

  constructor(private readonly options: RedisConnectionOptions) {
    this.keyPrefix = options.keyPrefix;
    this.logger = options.logger ?? new Logger('Redis');
    this.deadlines = commandDeadlines(options.commandTimeoutMs ?? DEFAULT_REDIS_COMMAND_TIMEOUT_MS);
    if (options.clusterNodes) {
      this.seeds = parseClusterSeeds(options.clusterNodes);
      this.endpoint = `cluster ${this.seeds.endpoints.join(',')}`;
      this.cluster = new WatchedCluster(this.seeds.nodes, this.clusterOptions(), this.deadlines);
      this.commandClient = this.cluster;
      this.cluster.on('refresh', () => this.topologyRefreshed());
      this.runDeadlines = new LoopTimeDeadlines<PendingRun>(
        CLUSTER_RUN_TIMEOUT_FACTOR * (options.commandTimeoutMs ?? DEFAULT_REDIS_COMMAND_TIMEOUT_MS),
        {
          pending: (run) => !run.settled,
          expire: (run) => run.reject(new Error(COMMAND_TIMED_OUT)),
        },
      );
    } else if (options.url) {
      this.endpoint = describeEndpoint(options.url);
      this.commandClient = new WatchedRedis(
        options.url,
        { ...this.connectionOptions(), connectionName: 'switchboard' },
        this.deadlines,
      );
    } else {
      throw new Error('RedisConnection needs a url or clusterNodes');
    }
    this.client = this.commandClient;
    this.breaker = circuitBreaker(
      // A reply error (a bad script, a wrong type) is an answer: Redis is there.
      handleWhen((error) => !(error instanceof ReplyError)),
      {
        halfOpenAfter: options.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS,
        breaker: new ConsecutiveBreaker(options.failureThreshold ?? DEFAULT_FAILURE_THRESHOLD),
      },
    );
    this.breaker.onBreak((reason) => {
      if ('error' in reason) {
        this.lastError = describe(reason.error);
      }
      this.startProbing();
      this.changed();
    });
    this.breaker.onReset(() => {
      this.stopProbing();
      this.changed();
    });
    // Without an 'error' listener ioredis prints every failed reconnection attempt.
    this.commandClient.on('error', (error: Error) => (this.lastError = error.message));
    this.commandClient.on('close', () => this.changed());
    this.commandClient.on('ready', () => {
      if (this.breaker.state !== CircuitState.Closed) {
        this.probe();
      }
      this.changed();
    });
  }

  /** Connected, and the circuit closed: commands are sent. */
  get available(): boolean {
    return (
      !this.closed &&
      this.commandClient.status === 'ready' &&
      this.breaker.state === CircuitState.Closed
    );
  }

  /** The circuit breaker is open (or half-open, probing): commands are refused at once. */
  get breakerOpen(): boolean {
    return this.breaker.state !== CircuitState.Closed;
  }

  /** A Redis Cluster: pub/sub is sharded, and keys that must share a slot carry hash tags. */
  get isCluster(): boolean {
    return this.cluster !== undefined;
  }

  /**
   * The key prefix for keys that must share one slot with the other keys of `group` (a room,
   * a feature): on a cluster `<keyPrefix>{<group>}:`, a hash tag; on one Redis just the prefix,
   * so that the key names stay those of the releases before clusters (a rolling upgrade shares
   * them). Append the rest of the key.
   */
  slotGroup(group: string): string {
    return this.cluster ? `${this.keyPrefix}{${group}}:` : this.keyPrefix;
  }

  /**
   * The node ("host:port") that serves `key`'s slot (a key, or a sharded channel); the one
   * server's endpoint without a cluster. Undefined while the cluster's slot map is not known.
   */
  nodeFor(key: string): string | undefined {
    if (!this.cluster) {
      return this.endpoint;
    }
    return this.cluster.slots[calculateSlot(key)]?.[0];
  }

  /**
   * A connection to each primary, for what must visit every node (a SCAN): the command
   * connection itself on one Redis. Send through `run` all the same.
   */
  primaries(): RedisCommands[] {
    return this.cluster ? this.cluster.nodes('master') : [this.client];
  }

  /** Calls `listener` whenever a cluster's slots changed owners; returns what stops it. */
  onTopologyChange(listener: () => void): () => void {
    this.topologyListeners.add(listener);
    return () => this.topologyListeners.delete(listener);
  }

  /**
   * Asks the cluster for its slot map now (a node said a slot moved); resolves with whether
   * slots changed owners (the listeners have then been told). Nothing for one Redis.
   */
  refreshTopology(): Promise<boolean> {
    const cluster = this.cluster;
    if (!cluster || this.closed) {
      return Promise.resolve(false);
    }
    return new Promise((resolve) =>
      cluster.refreshSlotsCache(() => resolve(this.topologyRefreshed())),
    );
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** When the current outage began (epoch ms); undefined while available. */
  get unavailableSince(): number | undefined {
    return this.outageSince;
  }

  health(): 'up' | 'degraded' {
    return this.available ? 'up' : 'degraded';
  }

  /**
   * Runs `operation` on the command connection through the circuit breaker; rejects at once
   * with a `RedisUnavailableError` while Redis is unavailable.
   */
  run<T>(operation: (client: RedisCommands) => Promise<T>): Promise<T> {
    if (!this.available) {
      return Promise.reject(this.unavailableError());
    }
    const deadlines = this.runDeadlines;
    if (!deadlines) {
      return this.breaker.execute(() => operation(this.client));
    }
    return this.breaker.execute(
      () =>
        new Promise<T>((resolve, reject) => {
          const run: PendingRun = { settled: false, reject };
          deadlines.watch(run);
          operation(this.client).then(
            (value) => {
              run.settled = true;
              resolve(value);
            },
            (error: unknown) => {
              run.settled = true;
              reject(error instanceof Error ? error : new Error(String(error)));
            },
          );
        }),
    );
  }

  /** Called whenever `available` may have changed; returns the function that stops it. */
  onAvailabilityChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * A connection of its own for subscriber mode (it cannot send other commands), with the same
   * fail-fast options; `overrides` for what pub/sub needs differently. Closed with this one.
   * On a cluster, to `node` ("host:port", from `nodeFor`): sharded subscriptions live on the node
   * that serves their slot.
   */
  createSubscriber(name: string, node?: string, overrides: RedisOptions = {}): Redis {
    const options = { ...this.connectionOptions(), connectionName: name, ...overrides };
    let subscriber: Redis;
    if (this.seeds) {
      if (!node) {
        throw new Error('A subscriber to a Redis Cluster needs the node it subscribes on');
      }
      const at = node.lastIndexOf(':');
      subscriber = new WatchedRedis(
        { host: node.slice(0, at), port: Number(node.slice(at + 1)) },
        { ...options, ...this.seeds.nodeOptions },
        this.deadlines,
      );
    } else {
      subscriber = new WatchedRedis(this.options.url ?? '', options, this.deadlines);
    }
    this.subscribers.add(subscriber);
    subscriber.once('end', () => this.subscribers.delete(subscriber));
    return subscriber;
  }

  /** Starts connecting; resolves once ready or after `connectTimeoutMs`. Never throws. */
  connect(): Promise<void> {
    this.connecting ??= this.connectOnce();
    return this.connecting;
  }

  async onModuleInit(): Promise<void> {
    await this.connect();
  }

  /** After the HTTP drain: in-flight requests still had Redis. */
  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }

  async close(): Promise<void> {
    if (this.closed) {
      return;
    }
    this.closed = true;
    this.stopProbing();
    await Promise.all(
      [this.commandClient, ...this.subscribers].map((connection) => quit(connection)),
    );
    this.deadlines.stop();
    this.runDeadlines?.stop();
    this.changed();
  }

  unavailableError(what?: string): RedisUnavailableError {
    const state = this.closed
      ? 'the connection is closed'
      : this.outageSince !== undefined
        ? `unreachable since ${new Date(this.outageSince).toISOString()}${this.lastError ? ` (${this.lastError})` : ''}`
        : 'not connected';
    return new RedisUnavailableError(
      `Redis at ${this.endpoint} is unavailable: ${state}${what ? `; ${what}` : ''}`,
    );
  }

  private async connectOnce(): Promise<void> {
    // ioredis goes on retrying after a failed first attempt; its promise only reports that one.
    this.commandClient.connect().catch(() => undefined);
    const timeoutMs = this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        stop();
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      const stop = this.onAvailabilityChange(() => {
        if (this.available || this.closed) {
          done();
        }
      });
      if (this.available) {
        done();
      }
    });
    if (!this.available && !this.closed && this.outageSince === undefined) {
      this.outageSince = Date.now();
      this.logger.warn(
        `Redis at ${this.endpoint} is not reachable at start-up (${this.lastError ?? `no answer within ${timeoutMs} ms`}): serving without it until it answers`,
      );
    }
  }

  private connectionOptions(): RedisOptions {
    const retryDelay = this.options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
    return {
      lazyConnect: true,
      // Fail fast, never buffer: a command issued while disconnected is rejected at once
      // instead of holding its request until Redis returns.
      enableOfflineQueue: false,
      // A command in flight when the connection drops is rejected, not resent later.
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      connectTimeout: Math.max(
        this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
        this.options.commandTimeoutMs ?? DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
      ),
      retryStrategy: (attempt) => backOff(attempt, retryDelay.first, retryDelay.max),
    };
  }

  private clusterOptions(): ClusterOptions {
    const retryDelay = this.options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
    return {
      lazyConnect: true,
      enableOfflineQueue: false,
      // Primaries only: a replica may lag, and the cache's compare-and-set needs the latest.
      scaleReads: 'master',
      slotsRefreshInterval: CLUSTER_SLOTS_REFRESH_MS,
      clusterRetryStrategy: (attempt) => backOff(attempt, retryDelay.first, retryDelay.max),
      // Sharded subscriptions are the bus's own (one connection per node, restored by it).
      shardedSubscribers: false,
      redisOptions: {
        ...this.connectionOptions(),
        ...this.seeds?.nodeOptions,
        connectionName: 'switchboard',
      },
    };
  }

  /** Tells the listeners when a refresh moved slots (not on every periodic refresh). */
  private topologyRefreshed(): boolean {
    const owners = this.cluster?.slots.map((nodes) => nodes?.[0] ?? '').join(',') ?? '';
    if (owners === this.slotOwnersSeen) {
      return false;
    }
    this.slotOwnersSeen = owners;
    for (const listener of [...this.topologyListeners]) {
      listener();
    }
    return true;
  }

  private startProbing(): void {
    if (this.probeTimer || this.closed) {
      return;
    }
    this.probeTimer = setInterval(
      () => this.probe(),
      this.options.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS,
    );
    this.probeTimer.unref();
  }

  private stopProbing(): void {
    clearInterval(this.probeTimer);
    this.probeTimer = undefined;
  }

  /**
   * The half-open test: the only command sent while the circuit is open. On a cluster every
   * primary must answer: one that is away fails the commands of its slots.
   */
  private probe(): void {
    if (this.closed || this.commandClient.status !== 'ready') {
      return;
    }
    const cluster = this.cluster;
    // The cluster's node connections are ioredis's own, untimed: the probe is timed as a whole.
    const ping: () => Promise<unknown> = cluster
      ? () =>
          withinLoopTime(
            Promise.all(cluster.nodes('master').map((node) => node.ping())),
            this.options.commandTimeoutMs ?? DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
            () => new Error(COMMAND_TIMED_OUT),
          )
      : () => this.client.ping();
    this.breaker.execute(ping).catch(() => undefined);
  }

  /** Logs one warning per outage and its end, and tells the listeners. */
  private changed(): void {
    const available = this.available;
    if (available && this.outageSince !== undefined) {
      const seconds = ((Date.now() - this.outageSince) / 1000).toFixed(1);
      this.logger.log(`Redis at ${this.endpoint} is back after ${seconds} s`);
      this.outageSince = undefined;
      this.lastError = undefined;
    } else if (!available && this.wasAvailable && !this.closed) {
      this.outageSince = Date.now();
      this.logger.warn(
        `Redis at ${this.endpoint} unavailable (${this.lastError ?? 'connection lost'}): serving without it until it answers again`,
      );
    }
    this.wasAvailable = available;
    for (const listener of [...this.listeners]) {
      listener();
    }
  }
}

/** Exponential back-off with jitter, so that a fleet does not reconnect in lockstep. */
function backOff(attempt: number, firstMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, firstMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/** Quits gracefully when connected; otherwise (or if Redis does not answer) disconnects. */
async function quit(connection: Redis | Cluster): Promise<void> {
  if (connection.status === 'ready') {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), QUIT_TIMEOUT_MS);
    });
    const outcome = await Promise.race([connection.quit().catch(() => 'failed'), timedOut]);
    clearTimeout(timer);
    if (outcome === 'OK') {
      return;
    }
  }
  connection.disconnect();
}

function describeEndpoint(url: string): string {
  try {
    const { hostname, port } = new URL(url);
    return `${hostname}:${port || '6379'}`;
  } catch {
    return 'the configured REDIS_URL';
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
