/** Where a transport hands every message it receives for a subscribed channel. */
export type BusReceiver = (channel: string, data: Buffer) => void;

export type BusTransportName = 'in-process' | 'redis';

export interface BusTransportStatus {
  healthy: boolean;
  /** Times the transport came back after losing its connection. */
  reconnects: number;
  /** When the current outage began (ISO 8601); absent while healthy. */
  downSince?: string;
  /** The last connection error of the current outage. */
  lastError?: string;
}

/**
 * Moves bytes between instances. The MessageBus does the reference counting, so a transport
 * sees one `subscribe` per channel when its first local subscriber arrives and one
 * `unsubscribe` when its last one leaves. Channel names here are the bus's, unprefixed.
 */
export interface BusTransport {
  readonly name: BusTransportName;
  onMessage(receiver: BusReceiver): void;
  /** Starts connecting. Resolves once connected or after a bounded wait; never throws. */
  connect(): Promise<void>;
  /** Rejects with a BusUnavailableError when the message cannot be sent now. */
  publish(channel: string, data: Buffer): Promise<void>;
  subscribe(channel: string): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
  status(): BusTransportStatus;
  close(): Promise<void>;
  /**
   * The channel's name on the Redis server, for a transport on Redis pub/sub that lets another
   * transaction PUBLISH to it; undefined when it cannot (sharded pub/sub on a cluster).
   */
  redisChannel?(channel: string): string | undefined;
  /**
   * Calls `listener` each time the transport is healthy again after an outage (what was published
   * meanwhile is lost); returns the function that stops it. A transport that cannot fail has none.
   */
  onReconnected?(listener: () => void): () => void;
}
