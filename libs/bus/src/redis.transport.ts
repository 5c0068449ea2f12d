import { Logger, LoggerService } from '@nestjs/common';
import Redis from 'ioredis';
import { RedisConnection } from '@libs/redis';
import { BusReceiver, BusTransport, BusTransportStatus } from './bus-transport';
import { BusUnavailableError } from './bus-unavailable.error';

export interface RedisTransportOptions {
  /** The application's Redis: publishing goes through its command connection and breaker. */
  connection: RedisConnection;
  logger?: LoggerService;
  /** How long `connect()` waits for Redis at start-up before the application carries on degraded. */
  startupTimeoutMs?: number;
}

const DEFAULT_STARTUP_TIMEOUT_MS = 5000;
/** Channels per SUBSCRIBE when restoring them after a reconnect. */
const RESUBSCRIBE_BATCH = 1000;

/**
 * Redis pub/sub on the application's `RedisConnection`: messages are published on its shared
 * command connection (through its circuit breaker, so a hung Redis fails a publish at once), and
 * received on a subscriber connection of the transport's own. It survives a Redis restart: the
 * subscriber subscribes every channel the bus holds again once it is back.
 */
export class RedisTransport implements BusTransport {
  readonly name = 'redis';
  private readonly connection: RedisConnection;
  private readonly subscriber: Redis;
  private readonly logger: LoggerService;
  private readonly endpoint: string;
  private readonly keyPrefix: string;
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
  private readonly reconnectedListeners = new Set<() => void>();
  private readonly stopWatchingConnection: () => void;

  constructor(private readonly options: RedisTransportOptions) {
    this.connection = options.connection;
    this.logger = options.logger ?? new Logger(RedisTransport.name);
    this.endpoint = this.connection.endpoint;
    this.keyPrefix = this.connection.keyPrefix;
    this.subscriber = this.connection.createSubscriber('switchboard-bus-subscriber', {
      // ioredis only resubscribes channels whose SUBSCRIBE had succeeded before the drop: it
      // would forget a channel subscribed during the outage and revive one unsubscribed during
      // it. The transport restores its own list instead (see `restoreSubscriptions`).
      autoResubscribe: false,
    });
    this.watchSubscriber();
    this.stopWatchingConnection = this.connection.onAvailabilityChange(() => {
      if (this.connection.available) {
        this.markUpIfHealthy();
      } else {
        this.markDown(this.lastError ?? 'publisher: Redis unavailable');
      }
    });
    this.subscriber.on('messageBuffer', (channel: Buffer, data: Buffer) =>
      this.receive(channel, data),
    );
  }

  onMessage(receiver: BusReceiver): void {
    this.receiver = receiver;
  }

  async connect(): Promise<void> {
    // ioredis goes on retrying after a failed first attempt; its promise only reports that one.
    void this.connection.connect();
    this.subscriber.connect().catch(() => undefined);
    const startupTimeoutMs = this.options.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS;
    if (!(await this.waitUntilHealthy(startupTimeoutMs))) {
      this.markDown(`no answer within ${startupTimeoutMs} ms`);
    }
  }

  async publish(channel: string, data: Buffer): Promise<void> {
    if (this.closing || !this.connection.available) {
      throw this.unavailable(`"${channel}" was not published`);
    }
    try {
      await this.connection.run((client) => client.publish(this.keyPrefix + channel, data));
    } catch (error) {
      throw this.unavailable(`"${channel}" was not published (${describe(error)})`, error);
    }
  }

  onReconnected(listener: () => void): () => void {
    this.reconnectedListeners.add(listener);
    return () => this.reconnectedListeners.delete(listener);
  }

  redisChannel(channel: string): string {
    return this.keyPrefix + channel;
  }

  async subscribe(channel: string): Promise<void> {
    this.channels.add(channel);
    if (this.subscriber.status !== 'ready') {
      // Not connected: the next 'ready' subscribes it with the rest.
      return;
    }
    try {
      await this.subscriber.subscribe(this.keyPrefix + channel);
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
      await this.subscriber.unsubscribe(this.keyPrefix + channel);
    } catch (error) {
      if (this.subscriber.status === 'ready') {
        throw error;
      }
    }
  }

  isHealthy(): boolean {
    return (
      !this.closing &&
      this.connection.available &&
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
    this.stopWatchingConnection();
    // The command connection is the application's: only the subscriber is the transport's.
    await quit(this.subscriber);
  }

  private watchSubscriber(): void {
    this.subscriber.on('error', (error: Error) => {
      this.lastError = `subscriber: ${error.message}`;
    });
    this.subscriber.on('close', () => {
      this.subscriptionsRestored = false;
      this.markDown(this.lastError ?? 'subscriber: connection closed');
    });
    this.subscriber.on('ready', () => this.restoreSubscriptions());
  }

  private restoreSubscriptions(): void {
    const epoch = ++this.subscriberEpoch;
    const keys = [...this.channels].map((channel) => this.keyPrefix + channel);
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
    if (channel.startsWith(this.keyPrefix)) {
      this.receiver(channel.slice(this.keyPrefix.length), data);
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
    // Back from an outage (also one at start-up): whatever was published meanwhile is lost.
    const returned = this.downSince !== undefined;
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
    if (returned) {
      for (const listener of [...this.reconnectedListeners]) {
        try {
          listener();
        } catch (error) {
          this.logger.error(`A reconnection listener failed: ${describe(error)}`);
        }
      }
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

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
