import { Logger, LoggerService, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import {
  circuitBreaker,
  CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  handleWhen,
} from 'cockatiel';
import Redis, { Command, RedisOptions, ReplyError } from 'ioredis';
import { LoopTimeDeadlines } from './loop-time-deadlines';
import { commandDeadlines, WatchedRedis } from './watched-redis';
import { RedisUnavailableError } from './redis-unavailable.error';

export interface RedisConnectionOptions {
  url: string;
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
  readonly client: Redis;
  readonly keyPrefix: string;
  /** host:port only: the URL may carry a password, which must not reach a log or an error. */
  readonly endpoint: string;
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
    this.endpoint = describeEndpoint(options.url);
    this.logger = options.logger ?? new Logger('Redis');
    this.deadlines = commandDeadlines(options.commandTimeoutMs ?? DEFAULT_REDIS_COMMAND_TIMEOUT_MS);
    this.client = new WatchedRedis(
      options.url,
      { ...this.connectionOptions(), connectionName: 'switchboard' },
      this.deadlines,
    );
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
    this.client.on('error', (error: Error) => (this.lastError = error.message));
    this.client.on('close', () => this.changed());
    this.client.on('ready', () => {
      if (this.breaker.state !== CircuitState.Closed) {
        this.probe();
      }
      this.changed();
    });
  }

  /** Connected, and the circuit closed: commands are sent. */
  get available(): boolean {
    return (
      !this.closed && this.client.status === 'ready' && this.breaker.state === CircuitState.Closed
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
  run<T>(operation: (client: Redis) => Promise<T>): Promise<T> {
    if (!this.available) {
      return Promise.reject(this.unavailableError());
    }
    return this.breaker.execute(() => operation(this.client));
  }

  /** Called whenever `available` may have changed; returns the function that stops it. */
  onAvailabilityChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * A connection of its own for subscriber mode (it cannot send other commands), with the same
   * fail-fast options; `overrides` for what pub/sub needs differently. Closed with this one.
   */
  createSubscriber(name: string, overrides: RedisOptions = {}): Redis {
    const subscriber = new WatchedRedis(
      this.options.url,
      { ...this.connectionOptions(), connectionName: name, ...overrides },
      this.deadlines,
    );
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
    await Promise.all([this.client, ...this.subscribers].map((connection) => quit(connection)));
    this.deadlines.stop();
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
    this.client.connect().catch(() => undefined);
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

  /** The half-open test: the only command sent while the circuit is open. */
  private probe(): void {
    if (this.closed || this.client.status !== 'ready') {
      return;
    }
    this.breaker.execute(() => this.client.ping()).catch(() => undefined);
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
async function quit(connection: Redis): Promise<void> {
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
