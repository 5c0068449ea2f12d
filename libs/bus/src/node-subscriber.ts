import type Redis from 'ioredis';
import calculateSlot from 'cluster-key-slot';

/**
 * Classic pub/sub on one Redis; sharded pub/sub (Redis 7) on a cluster, where a channel lives on
 * the node that serves its slot, like a key, instead of being copied to every node.
 */
export interface PubSubFlavour {
  readonly sharded: boolean;
  readonly subscribe: 'subscribe' | 'ssubscribe';
  readonly unsubscribe: 'unsubscribe' | 'sunsubscribe';
  readonly messageEvent: 'messageBuffer' | 'smessageBuffer';
}

export const CLASSIC_PUB_SUB: PubSubFlavour = {
  sharded: false,
  subscribe: 'subscribe',
  unsubscribe: 'unsubscribe',
  messageEvent: 'messageBuffer',
};

export const SHARDED_PUB_SUB: PubSubFlavour = {
  sharded: true,
  subscribe: 'ssubscribe',
  unsubscribe: 'sunsubscribe',
  messageEvent: 'smessageBuffer',
};

/** ioredis's states of a connection that has not been ready yet. */
const FIRST_CONNECTION = new Set(['wait', 'connecting', 'connect']);

/** Channels per (S)SUBSCRIBE at most. */
const SUBSCRIBE_BATCH = 1000;

export interface NodeSubscriberEvents {
  message(channel: Buffer, data: Buffer): void;
  /** `ready` may have changed. */
  changed(): void;
  /**
   * The node said something no command asked for (a sunsubscribe after its slot moved away) or
   * refused a subscription for a slot it does not serve (MOVED): the slot map needs a look.
   */
  topologySuspect(reason: string): void;
  error(message: string): void;
}

/** A subscribe call waiting for the next batch of its slot. */
interface PendingSubscribe {
  channels: string[];
  waiters: { resolve: () => void; reject: (error: unknown) => void }[];
}

/**
 * One subscriber connection to one Redis node and the channels (Redis names, prefixed) it must
 * hold there. It is the truth that a reconnect restores: ioredis's own resubscription is off, as
 * it forgets a channel subscribed during an outage and revives one unsubscribed during it.
 *
 * Subscriptions asked for in the same turn of the event loop go out together, one command per
 * slot (a sharded SSUBSCRIBE must stay in one slot), not one command per channel.
 */
export class NodeSubscriber {
  readonly channels = new Set<string>();
  /** False from a disconnect until every channel is subscribed again. */
  private restored = false;
  /** Counts connections, so that a restore from an older one cannot act on a newer. */
  private epoch = 0;
  private readonly pending = new Map<number, PendingSubscribe>();
  /** Subscriptions asked for before the first connection was ready: settled by its restore. */
  private readonly awaitingConnection: (() => void)[] = [];
  private flushScheduled = false;
  private closing = false;

  constructor(
    readonly node: string,
    private readonly connection: Redis,
    private readonly flavour: PubSubFlavour,
    private readonly events: NodeSubscriberEvents,
  ) {
    connection.on(flavour.messageEvent, (channel: Buffer, data: Buffer) =>
      events.message(channel, data),
    );
    connection.on('error', (error: Error) => {
      if (error.message.startsWith('Command queue state error')) {
        // ioredis's word for a reply nobody asked for: in subscriber mode, the sunsubscribe a
        // node sends to every subscriber of a slot it gave away.
        events.topologySuspect(`unrequested reply from ${node}`);
        return;
      }
      events.error(error.message);
    });
    connection.on('close', () => {
      this.restored = false;
      this.settleAwaitingConnection();
      // Closed on purpose (no channel of ours left on the node): not an outage.
      if (!this.closing) {
        events.changed();
      }
    });
    connection.on('ready', () => this.restore());
  }

  /** Connected, and every channel it must hold subscribed. */
  get ready(): boolean {
    return !this.closing && this.connection.status === 'ready' && this.restored;
  }

  connect(): void {
    this.connection.connect().catch(() => undefined);
  }

  /**
   * Holds `channel` here from now on. Resolves once the node confirmed it, or at once while
   * disconnected (the next connection subscribes it with the rest); rejects if the node refused.
   */
  add(channel: string): Promise<void> {
    this.channels.add(channel);
    if (FIRST_CONNECTION.has(this.connection.status)) {
      // A node we had no channel on before: subscribed by the restore once it is ready.
      return new Promise((resolve) => this.awaitingConnection.push(resolve));
    }
    if (this.connection.status !== 'ready') {
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const slot = this.slotOf(channel);
      let batch = this.pending.get(slot);
      if (!batch) {
        batch = { channels: [], waiters: [] };
        this.pending.set(slot, batch);
      }
      batch.channels.push(channel);
      batch.waiters.push({ resolve, reject });
      this.scheduleFlush();
    });
  }

  /** Stops holding `channel`; resolves once the node confirmed it (or at once, disconnected). */
  async remove(channel: string): Promise<void> {
    this.channels.delete(channel);
    if (this.connection.status !== 'ready') {
      return;
    }
    try {
      await this.connection[this.flavour.unsubscribe](channel);
    } catch (error) {
      if (this.connection.status === 'ready') {
        throw error;
      }
    }
  }

  /** Sends every channel again (after the node pushed an unsubscription nobody asked for). */
  resubscribeAll(): void {
    if (this.connection.status === 'ready') {
      this.restore();
    }
  }

  async close(): Promise<void> {
    if (this.closing) {
      return;
    }
    this.closing = true;
    this.settleAwaitingConnection();
    for (const batch of this.pending.values()) {
      batch.waiters.forEach(({ resolve }) => resolve());
    }
    this.pending.clear();
    if (this.connection.status === 'ready') {
      try {
        await this.connection.quit();
        return;
      } catch {
        // Fall through to a hard disconnect.
      }
    }
    this.connection.disconnect();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) {
      return;
    }
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      const batches = [...this.pending.values()];
      this.pending.clear();
      for (const batch of batches) {
        void this.sendBatch(batch);
      }
    });
  }

  private async sendBatch({ channels, waiters }: PendingSubscribe): Promise<void> {
    // Removed again before the flush: not sent.
    const wanted = channels.filter((channel) => this.channels.has(channel));
    try {
      for (let start = 0; start < wanted.length; start += SUBSCRIBE_BATCH) {
        await this.connection[this.flavour.subscribe](
          ...wanted.slice(start, start + SUBSCRIBE_BATCH),
        );
      }
      waiters.forEach(({ resolve }) => resolve());
    } catch (error) {
      if (this.connection.status !== 'ready') {
        // Lost on the way: the next 'ready' subscribes them with the rest.
        waiters.forEach(({ resolve }) => resolve());
        return;
      }
      if (isRedirection(error)) {
        this.events.topologySuspect(`${this.node}: ${(error as Error).message}`);
      }
      waiters.forEach(({ reject }) => reject(error));
    }
  }

  private restore(): void {
    const epoch = ++this.epoch;
    this.restored = false;
    const bySlot = new Map<number, string[]>();
    for (const channel of this.channels) {
      const slot = this.slotOf(channel);
      const group = bySlot.get(slot);
      if (group) {
        group.push(channel);
      } else {
        bySlot.set(slot, [channel]);
      }
    }
    const restoreAll = async () => {
      for (const group of bySlot.values()) {
        for (let start = 0; start < group.length; start += SUBSCRIBE_BATCH) {
          await this.connection[this.flavour.subscribe](
            ...group.slice(start, start + SUBSCRIBE_BATCH),
          );
        }
      }
    };
    restoreAll().then(
      () => {
        if (epoch === this.epoch) {
          this.restored = true;
          this.settleAwaitingConnection();
          this.events.changed();
        }
      },
      (error: unknown) => {
        if (epoch !== this.epoch || this.closing) {
          return;
        }
        const message = error instanceof Error ? error.message : String(error);
        if (isRedirection(error)) {
          // A slot of ours is elsewhere now: the transport moves its channels, then restores.
          this.events.topologySuspect(`${this.node}: ${message}`);
          return;
        }
        this.events.error(`resubscribing failed: ${message}`);
        // Connected but not subscribed is the worst state: start over on a fresh connection.
        if (this.connection.status === 'ready') {
          this.connection.disconnect(true);
        }
      },
    );
  }

  private settleAwaitingConnection(): void {
    for (const resolve of this.awaitingConnection.splice(0)) {
      resolve();
    }
  }

  /** Classic pub/sub has no slots: every channel goes in one batch. */
  private slotOf(channel: string): number {
    return this.flavour.sharded ? calculateSlot(channel) : 0;
  }
}

/** A node's answer that the slot is served elsewhere (or nowhere, for now). */
export function isRedirection(error: unknown): boolean {
  return error instanceof Error && /^(MOVED|ASK|CLUSTERDOWN|TRYAGAIN)\b/.test(error.message);
}
