import { Logger, LoggerService } from '@nestjs/common';
import { RedisConnection } from '@libs/redis';
import { BusReceiver, BusTransport, BusTransportStatus } from './bus-transport';
import { BusUnavailableError } from './bus-unavailable.error';
import {
  CLASSIC_PUB_SUB,
  isRedirection,
  NodeSubscriber,
  PubSubFlavour,
  SHARDED_PUB_SUB,
} from './node-subscriber';

export interface RedisTransportOptions {
  /** The application's Redis: publishing goes through its command connection and breaker. */
  connection: RedisConnection;
  logger?: LoggerService;
  /** How long `connect()` waits for Redis at start-up before the application carries on degraded. */
  startupTimeoutMs?: number;
}

const DEFAULT_STARTUP_TIMEOUT_MS = 5000;
/** After a node hinted that slots moved, the slot map is read again at most this often. */
const TOPOLOGY_CHECK_INTERVAL_MS = 100;

/**
 * Redis pub/sub on the application's `RedisConnection`: messages are published on its shared
 * command connection (through its circuit breaker, so a hung Redis fails a publish at once), and
 * received on subscriber connections of the transport's own. On one Redis that is classic
 * PUBLISH/SUBSCRIBE on one subscriber connection. On a cluster it is sharded pub/sub
 * (SPUBLISH/SSUBSCRIBE): each channel lives on the primary that serves its slot, so a message
 * reaches one node and the instances subscribed there, not every node of the cluster; the
 * transport keeps one subscriber connection per primary that holds channels of ours.
 *
 * The channels the bus holds are the truth. A subscriber that reconnects subscribes its share
 * again; when slots change owners (a failover, a slot migrated), the channels of those slots move
 * to the new owner's connection. Messages published while a subscription is not in place are
 * lost, as in any outage: the bus is at most once, and the real-time layer catches up by `sync`.
 */
export class RedisTransport implements BusTransport {
  readonly name = 'redis';
  private readonly connection: RedisConnection;
  private readonly flavour: PubSubFlavour;
  private readonly logger: LoggerService;
  private readonly endpoint: string;
  private readonly keyPrefix: string;
  /** The channels the bus holds (unprefixed): the truth that is restored after a reconnect. */
  private readonly channels = new Set<string>();
  /** Subscriber connections by node ("host:port"). */
  private readonly nodes = new Map<string, NodeSubscriber>();
  /** Where each held channel is subscribed; absent while the slot map is not known yet. */
  private readonly placement = new Map<string, NodeSubscriber>();
  private receiver: BusReceiver = () => undefined;
  private wasHealthy = false;
  private downSince: Date | undefined;
  private lastError: string | undefined;
  private reconnects = 0;
  private connecting = false;
  private closing = false;
  private topologyCheck: NodeJS.Timeout | undefined;
  private readonly healthyWaiters = new Set<() => void>();
  private readonly reconnectedListeners = new Set<() => void>();
  private readonly stopWatching: (() => void)[];

  constructor(private readonly options: RedisTransportOptions) {
    this.connection = options.connection;
    this.flavour = this.connection.isCluster ? SHARDED_PUB_SUB : CLASSIC_PUB_SUB;
    this.logger = options.logger ?? new Logger(RedisTransport.name);
    this.endpoint = this.connection.endpoint;
    this.keyPrefix = this.connection.keyPrefix;
    this.stopWatching = [
      this.connection.onAvailabilityChange(() => {
        if (this.connection.available) {
          this.markUpIfHealthy();
        } else {
          this.markDown(this.lastError ?? 'publisher: Redis unavailable');
        }
      }),
      this.connection.onTopologyChange(() => this.placeChannels()),
    ];
  }

  onMessage(receiver: BusReceiver): void {
    this.receiver = receiver;
  }

  async connect(): Promise<void> {
    this.connecting = true;
    // ioredis goes on retrying after a failed first attempt; its promise only reports that one.
    void this.connection.connect();
    for (const node of this.nodes.values()) {
      node.connect();
    }
    const startupTimeoutMs = this.options.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS;
    if (!(await this.waitUntilHealthy(startupTimeoutMs))) {
      this.markDown(`no answer within ${startupTimeoutMs} ms`);
    }
  }

  async publish(channel: string, data: Buffer): Promise<void> {
    if (this.closing || !this.connection.available) {
      throw this.unavailable(`"${channel}" was not published`);
    }
    const redisChannel = this.keyPrefix + channel;
    try {
      await this.connection.run((client) =>
        this.flavour.sharded
          ? client.spublish(redisChannel, data)
          : client.publish(redisChannel, data),
      );
    } catch (error) {
      throw this.unavailable(`"${channel}" was not published (${describe(error)})`, error);
    }
  }

  onReconnected(listener: () => void): () => void {
    this.reconnectedListeners.add(listener);
    return () => this.reconnectedListeners.delete(listener);
  }

  /**
   * The channel's name for a PUBLISH inside another transaction (the cache's invalidation). None
   * on a cluster: a sharded channel's slot is not the transaction's.
   */
  redisChannel(channel: string): string | undefined {
    return this.flavour.sharded ? undefined : this.keyPrefix + channel;
  }

  async subscribe(channel: string): Promise<void> {
    this.channels.add(channel);
    const node = this.place(channel);
    if (!node) {
      // The slot map is not known yet: placed, and subscribed, once it is.
      return;
    }
    try {
      await node.add(this.keyPrefix + channel);
    } catch (error) {
      if (isRedirection(error) && this.channels.has(channel)) {
        // The slot moved under us: once the map is read again the channel follows it.
        await this.connection.refreshTopology();
        const moved = this.placement.get(channel);
        if (moved && moved !== node) {
          return moved.add(this.keyPrefix + channel);
        }
      }
      this.channels.delete(channel);
      this.unplace(channel).catch(() => undefined);
      throw this.unavailable(`cannot subscribe to "${channel}" (${describe(error)})`, error);
    }
  }

  async unsubscribe(channel: string): Promise<void> {
    this.channels.delete(channel);
    await this.unplace(channel);
  }

  isHealthy(): boolean {
    if (this.closing || !this.connection.available) {
      return false;
    }
    if (this.placement.size < this.channels.size) {
      return false;
    }
    for (const node of this.nodes.values()) {
      if (node.channels.size > 0 && !node.ready) {
        return false;
      }
    }
    return true;
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
    clearTimeout(this.topologyCheck);
    for (const wake of this.healthyWaiters) {
      wake();
    }
    this.stopWatching.forEach((stop) => stop());
    // The command connection is the application's: only the subscribers are the transport's.
    await Promise.all([...this.nodes.values()].map((node) => node.close()));
  }

  /** The subscriber that holds `channel` (created on first use); undefined without a slot map. */
  private place(channel: string): NodeSubscriber | undefined {
    const placed = this.placement.get(channel);
    if (placed) {
      return placed;
    }
    const address = this.connection.nodeFor(this.keyPrefix + channel);
    if (!address) {
      return undefined;
    }
    const node = this.nodes.get(address) ?? this.openNode(address);
    this.placement.set(channel, node);
    return node;
  }

  private async unplace(channel: string): Promise<void> {
    const node = this.placement.get(channel);
    this.placement.delete(channel);
    await node?.remove(this.keyPrefix + channel);
  }

  private openNode(address: string): NodeSubscriber {
    const node = new NodeSubscriber(
      address,
      this.connection.createSubscriber('switchboard-bus-subscriber', address, {
        autoResubscribe: false,
      }),
      this.flavour,
      {
        message: (channel, data) => this.receive(channel, data),
        changed: () => {
          // This node lost its connection: an outage. It came back: healthy if all others are.
          if (node.ready) {
            this.markUpIfHealthy();
          } else {
            this.markDown(this.lastError ?? `subscriber ${address}: connection closed`);
          }
        },
        topologySuspect: (reason) => this.suspectTopology(reason),
        error: (message) => (this.lastError = `subscriber ${address}: ${message}`),
      },
    );
    this.nodes.set(address, node);
    if (this.connecting && !this.closing) {
      node.connect();
    }
    return node;
  }

  /**
   * The slot map changed (or was first read): every channel goes to the node that serves its
   * slot now. A subscriber left with no channel is closed.
   */
  private placeChannels(): void {
    if (this.closing) {
      return;
    }
    const moves: Promise<void>[] = [];
    for (const channel of this.channels) {
      const before = this.placement.get(channel);
      const address = this.connection.nodeFor(this.keyPrefix + channel);
      if (!address || before?.node === address) {
        continue;
      }
      this.placement.delete(channel);
      // The old node may be gone, or already dropped it (a migrated slot): errors do not matter.
      before?.remove(this.keyPrefix + channel).catch(() => undefined);
      const node = this.place(channel);
      moves.push(node ? node.add(this.keyPrefix + channel) : Promise.resolve());
    }
    for (const [address, node] of this.nodes) {
      if (node.channels.size === 0) {
        this.nodes.delete(address);
        void node.close();
      } else if (!node.ready) {
        // Refused a slot that has now moved: the rest of its channels are wanted there.
        node.resubscribeAll();
      }
    }
    if (moves.length > 0) {
      this.logger.log(
        `The Redis Cluster's slots moved: ${moves.length} channel(s) now subscribed on their new primaries`,
      );
    }
    void Promise.allSettled(moves).then(() => this.markUpIfHealthy());
  }

  /** A node hinted that slots moved: read the map (at most every 100 ms), then place again. */
  private suspectTopology(reason: string): void {
    if (this.closing || this.topologyCheck) {
      return;
    }
    this.logger.debug?.(`Checking the Redis Cluster's slot map: ${reason}`);
    this.topologyCheck = setTimeout(() => {
      void this.connection.refreshTopology().then((moved) => {
        this.topologyCheck = undefined;
        // Moved: the channels were placed anew (placeChannels, a topology listener). Unchanged,
        // but a node unsubscribed us or refused: send each node's channels again.
        if (!moved) {
          for (const node of this.nodes.values()) {
            node.resubscribeAll();
          }
        }
      });
    }, TOPOLOGY_CHECK_INTERVAL_MS);
    this.topologyCheck.unref();
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

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
