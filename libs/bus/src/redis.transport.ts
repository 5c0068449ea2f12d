import { Logger, LoggerService } from '@nestjs/common';
import Redis, { RedisOptions } from 'ioredis';
import { BusReceiver, BusTransport, BusTransportStatus } from './bus-transport';
import { BusUnavailableError } from './bus-unavailable.error';

export interface RedisTransportOptions {
  url: string;
  /** Starts every channel name on the server, so that apps (and test suites) sharing a Redis stay apart. */
  keyPrefix: string;
  logger?: LoggerService;
  /** How long `connect()` waits for Redis at start-up before the application carries on degraded. */
  startupTimeoutMs?: number;
  /** Reconnection back-off: doubles from the first delay up to the cap, with jitter. */
  retryDelayMs?: { first: number; max: number };
  /** A command that gets no answer within this fails (a hung server, a lost network). */
  commandTimeoutMs?: number;
}

const DEFAULT_STARTUP_TIMEOUT_MS = 5000;
const DEFAULT_RETRY_DELAY_MS = { first: 100, max: 2000 };
const DEFAULT_COMMAND_TIMEOUT_MS = 2000;
/** Channels per SUBSCRIBE when restoring them after a reconnect. */
const RESUBSCRIBE_BATCH = 1000;

type Role = 'publisher' | 'subscriber';

/**
 * Redis pub/sub with two connections: one publishes, one is in subscriber mode. It survives a
 * Redis restart: both connections reconnect with back-off, and the subscriber subscribes every
 * channel the bus holds again once it is back.
 */
export class RedisTransport implements BusTransport {
  readonly name = 'redis';
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly logger: LoggerService;
  private readonly endpoint: string;
  /** The channels the bus holds (unprefixed): the truth that is restored after a reconnect. */
  private readonly channels = new Set<string>();
  private receiver: BusReceiver = () => undefined;
  /** False from a subscriber disconnect until its channels are subscribed again. */
  private subscriptionsRestored = false;
  /** Counts subscriber connections, so that a restore from an older one cannot act on a newer. */
  private subscriberEpoch = 0;
  private wasHealthy = false;
  private downSince: Date | undefined;
  private lastError: string | undefined;
  private reconnects = 0;
  private closing = false;
  private readonly healthyWaiters = new Set<() => void>();

  constructor(private readonly options: RedisTransportOptions) {
    this.logger = options.logger ?? new Logger(RedisTransport.name);
    this.endpoint = describeEndpoint(options.url);
    const retryDelay = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
    const connectionOptions: RedisOptions = {
      lazyConnect: true,
      // Fail fast, never buffer: with the offline queue off, a command issued while the
      // connection is down is rejected at once instead of piling up in memory until Redis
      // returns (and then delivering stale messages in a burst). Live delivery is best-effort;
      // clients catch up from history.
      enableOfflineQueue: false,
      // A command in flight when the connection drops is rejected on that first drop (0
      // retries) rather than resent after the reconnect: the caller hears about it now.
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      // ioredis only resubscribes channels whose SUBSCRIBE had succeeded before the drop: it
      // would forget a channel subscribed during the outage and revive one unsubscribed during
      // it. The transport restores its own list instead (see `restoreSubscriptions`).
      autoResubscribe: false,
      retryStrategy: (attempt) => backOff(attempt, retryDelay.first, retryDelay.max),
      connectTimeout: 5000,
      commandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    };
    this.publisher = new Redis(options.url, {
      ...connectionOptions,
      connectionName: 'switchboard-bus-publisher',
    });
    this.subscriber = new Redis(options.url, {
      ...connectionOptions,
      connectionName: 'switchboard-bus-subscriber',
    });
    this.watch(this.publisher, 'publisher');
    this.watch(this.subscriber, 'subscriber');
    this.subscriber.on('messageBuffer', (channel: Buffer, data: Buffer) =>
      this.receive(channel, data),
    );
  }

  onMessage(receiver: BusReceiver): void {
    this.receiver = receiver;
  }

  async connect(): Promise<void> {
    // ioredis goes on retrying after a failed first attempt; its promise only reports that one.
    this.publisher.connect().catch(() => undefined);
    this.subscriber.connect().catch(() => undefined);
    const startupTimeoutMs = this.options.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS;
    if (!(await this.waitUntilHealthy(startupTimeoutMs))) {
      this.markDown(`no answer within ${startupTimeoutMs} ms`);
    }
  }

  async publish(channel: string, data: Buffer): Promise<void> {
    if (this.closing || this.publisher.status !== 'ready') {
      throw this.unavailable(`"${channel}" was not published`);
    }
    try {
      await this.publisher.publish(this.options.keyPrefix + channel, data);
    } catch (error) {
      throw this.unavailable(`"${channel}" was not published (${describe(error)})`, error);
    }
  }

  async subscribe(channel: string): Promise<void> {
    this.channels.add(channel);
    if (this.subscriber.status !== 'ready') {
      // Not connected: the next 'ready' subscribes it with the rest.
      return;
    }
    try {
      await this.subscriber.subscribe(this.options.keyPrefix + channel);
    } catch (error) {
      if (this.subscriber.status !== 'ready') {
        // Lost on the way: the next 'ready' subscribes it with the rest.
        return;
      }
      this.channels.delete(channel);
      throw this.unavailable(`cannot subscribe to "${channel}" (${describe(error)})`, error);
    }
  }

  async unsubscribe(channel: string): Promise<void> {
    this.channels.delete(channel);
    if (this.subscriber.status !== 'ready') {
      // Not connected: the next connection starts without it.
      return;
    }
    try {
      await this.subscriber.unsubscribe(this.options.keyPrefix + channel);
    } catch (error) {
      if (this.subscriber.status === 'ready') {
        throw error;
      }
    }
  }

  isHealthy(): boolean {
    return (
      !this.closing &&
      this.publisher.status === 'ready' &&
      this.subscriber.status === 'ready' &&
      this.subscriptionsRestored
    );
  }

  status(): BusTransportStatus {
    return {
      healthy: this.isHealthy(),
      reconnects: this.reconnects,
      ...(this.downSince && { downSince: this.downSince.toISOString() }),
      ...(this.lastError !== undefined && { lastError: this.lastError }),
    };
  }

  async close(): Promise<void> {
    if (this.closing) {
      return;
    }
    this.closing = true;
    for (const wake of this.healthyWaiters) {
      wake();
    }
    await Promise.all([quit(this.publisher), quit(this.subscriber)]);
  }

  private watch(connection: Redis, role: Role): void {
    // Without an 'error' listener ioredis prints every failed reconnection attempt.
    connection.on('error', (error: Error) => {
      this.lastError = `${role}: ${error.message}`;
    });
    connection.on('close', () => {
      if (role === 'subscriber') {
        this.subscriptionsRestored = false;
      }
      this.markDown(this.lastError ?? `${role}: connection closed`);
    });
    connection.on('ready', () => {
      if (role === 'subscriber') {
        this.restoreSubscriptions();
      } else {
        this.markUpIfHealthy();
      }
    });
  }

  private restoreSubscriptions(): void {
    const epoch = ++this.subscriberEpoch;
    const keys = [...this.channels].map((channel) => this.options.keyPrefix + channel);
    const restore = async () => {
      for (let start = 0; start < keys.length; start += RESUBSCRIBE_BATCH) {
        await this.subscriber.subscribe(...keys.slice(start, start + RESUBSCRIBE_BATCH));
      }
    };
    restore().then(
      () => {
        if (epoch === this.subscriberEpoch) {
          this.subscriptionsRestored = true;
          this.markUpIfHealthy();
        }
      },
      (error: unknown) => {
        if (epoch !== this.subscriberEpoch || this.closing) {
          return;
        }
        this.lastError = `subscriber: resubscribing failed: ${describe(error)}`;
        this.markDown(this.lastError);
        // Connected but not subscribed is the worst state: start over on a fresh connection.
        if (this.subscriber.status === 'ready') {
          this.subscriber.disconnect(true);
        }
      },
    );
  }

  private receive(prefixedChannel: Buffer, data: Buffer): void {
    const channel = prefixedChannel.toString('utf8');
    if (channel.startsWith(this.options.keyPrefix)) {
      this.receiver(channel.slice(this.options.keyPrefix.length), data);
    }
  }

  /** One warning per outage, however many reconnection attempts fail during it. */
  private markDown(reason: string): void {
    if (this.closing || this.downSince !== undefined) {
      return;
    }
    this.downSince = new Date();
    this.logger.warn(
      this.wasHealthy
        ? `Lost the Redis bus at ${this.endpoint} (${reason}): publishing fails until it is back; reconnecting`
        : `Cannot reach the Redis bus at ${this.endpoint} (${reason}): publishing fails until it answers; retrying`,
    );
  }

  private markUpIfHealthy(): void {
    if (!this.isHealthy()) {
      return;
    }
    if (!this.wasHealthy) {
      this.logger.log(`Connected to the Redis bus at ${this.endpoint}`);
    } else if (this.downSince !== undefined) {
      this.reconnects += 1;
      const downtimeMs = Date.now() - this.downSince.getTime();
      this.logger.log(
        `Reconnected to the Redis bus at ${this.endpoint} after ${downtimeMs} ms; ${this.channels.size} channels subscribed again`,
      );
    }
    this.wasHealthy = true;
    this.downSince = undefined;
    this.lastError = undefined;
    for (const wake of this.healthyWaiters) {
      wake();
    }
  }

  private waitUntilHealthy(timeoutMs: number): Promise<boolean> {
    if (this.isHealthy()) {
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.healthyWaiters.delete(finish);
        resolve(this.isHealthy());
      };
      const timer = setTimeout(finish, timeoutMs);
      this.healthyWaiters.add(finish);
    });
  }

  private unavailable(what: string, cause?: unknown): BusUnavailableError {
    const state = this.closing
      ? 'the bus is closed'
      : this.downSince
        ? `Redis at ${this.endpoint} is unreachable since ${this.downSince.toISOString()}, reconnecting`
        : `Redis at ${this.endpoint} is not connected`;
    return new BusUnavailableError(`Message bus unavailable (${state}): ${what}`, { cause });
  }
}

/** Exponential back-off with jitter, so that a fleet does not reconnect in lockstep. */
function backOff(attempt: number, firstMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, firstMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/** Quits gracefully when connected; otherwise stops the reconnection attempts at once. */
async function quit(connection: Redis): Promise<void> {
  if (connection.status === 'ready') {
    try {
      await connection.quit();
      return;
    } catch {
      // Fall through to a hard disconnect.
    }
  }
  connection.disconnect();
}

/** host:port only: the URL may carry a password, which must not reach a log or an error. */
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
