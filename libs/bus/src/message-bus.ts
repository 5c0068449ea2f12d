import { Logger, LoggerService, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { BusHandler, BusMessage, serializeBusPayload, Unsubscribe } from './bus-message';
import { BusTransport, BusTransportName, BusTransportStatus } from './bus-transport';
import { BusUnavailableError } from './bus-unavailable.error';

export interface BusStatus extends BusTransportStatus {
  transport: BusTransportName;
  /** Channels with at least one local subscriber. */
  channels: number;
}

interface Registration {
  readonly handler: BusHandler;
}

interface ChannelSubscription {
  /** One entry per `subscribe` call, so the same handler subscribed twice counts twice. */
  readonly registrations: Set<Registration>;
  /** Settles when the transport has subscribed the channel. */
  readonly subscribed: Promise<void>;
}

/**
 * Publish/subscribe between the instances of the application (or within one process). It knows
 * channels and bytes, nothing of what they mean. Inject it by this class.
 *
 * Channel subscriptions are reference-counted: the first local subscriber of a channel
 * subscribes the transport, the last unsubscribe drops it. Delivery is at most once.
 */
export class MessageBus implements OnModuleInit, OnApplicationShutdown {
  private readonly channels = new Map<string, ChannelSubscription>();
  private closed = false;
  private unrouted = 0;

  constructor(
    private readonly transport: BusTransport,
    private readonly logger: LoggerService = new Logger(MessageBus.name),
  ) {
    transport.onMessage((channel, data) => this.dispatch(channel, data));
  }

  async onModuleInit(): Promise<void> {
    await this.transport.connect();
  }

  /** After the HTTP server has drained (not on module destroy): in-flight writes still publish. */
  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    this.channels.clear();
    await this.transport.close();
  }

  /**
   * Sends `payload` to every subscriber of `channel` on every instance, this one included.
   * A Buffer is sent as is; anything else is serialized once as JSON. Rejects with a
   * BusUnavailableError when the transport cannot take it now (nothing is queued for later).
   */
  async publish(channel: string, payload: unknown): Promise<void> {
    assertChannel(channel);
    const data = serializeBusPayload(payload);
    if (this.closed) {
      throw new BusUnavailableError(`The message bus is closed: "${channel}" was not published`);
    }
    await this.transport.publish(channel, data);
  }

  /**
   * `publish(channel, payload)` as a Redis PUBLISH that a caller on the same Redis can send
   * inside its own transaction (subscribers get it as if published here); undefined when the
   * bus is not on Redis, cannot take part in another transaction (a cluster), or is closed.
   */
  redisPublication(
    channel: string,
    payload: unknown,
  ): { channel: string; message: Buffer } | undefined {
    assertChannel(channel);
    const redisChannel = this.closed ? undefined : this.transport.redisChannel?.(channel);
    return redisChannel === undefined
      ? undefined
      : { channel: redisChannel, message: serializeBusPayload(payload) };
  }

  /**
   * Calls `handler` for each message published on `channel` from now on. Resolves once the
   * transport has the channel (or, while Redis is down, once the bus will subscribe it on
   * reconnect); the returned function drops this one subscription.
   */
  async subscribe(channel: string, handler: BusHandler): Promise<Unsubscribe> {
    assertChannel(channel);
    if (this.closed) {
      throw new BusUnavailableError(`The message bus is closed: cannot subscribe to "${channel}"`);
    }
    const subscription = this.channels.get(channel) ?? this.subscribeTransport(channel);
    const registration: Registration = { handler };
    subscription.registrations.add(registration);
    try {
      await subscription.subscribed;
    } catch (error) {
      subscription.registrations.delete(registration);
      throw error;
    }
    let active = true;
    return () => {
      if (!active) {
        return;
      }
      active = false;
      subscription.registrations.delete(registration);
      if (subscription.registrations.size > 0 || this.channels.get(channel) !== subscription) {
        return;
      }
      this.channels.delete(channel);
      if (!this.closed) {
        this.transport.unsubscribe(channel).catch((error: unknown) => {
          this.logger.warn(`Could not unsubscribe "${channel}": ${describe(error)}`);
        });
      }
    };
  }

  /**
   * Calls `listener` each time the bus is back after an outage: messages published meanwhile
   * were lost, so state that they would have changed should be checked again. Returns the
   * function that stops it.
   */
  onReconnected(listener: () => void): () => void {
    return this.transport.onReconnected?.(listener) ?? (() => undefined);
  }

  isHealthy(): boolean {
    return !this.closed && this.transport.status().healthy;
  }

  status(): BusStatus {
    const transportStatus = this.transport.status();
    return {
      transport: this.transport.name,
      ...transportStatus,
      healthy: transportStatus.healthy && !this.closed,
      channels: this.channels.size,
    };
  }

  private subscribeTransport(channel: string): ChannelSubscription {
    const subscription: ChannelSubscription = {
      registrations: new Set(),
      subscribed: this.transport.subscribe(channel),
    };
    this.channels.set(channel, subscription);
    // Forget a channel the transport refused at once, so that the next subscriber tries again.
    subscription.subscribed.catch(() => {
      if (this.channels.get(channel) === subscription) {
        this.channels.delete(channel);
      }
    });
    return subscription;
  }

  /**
   * Messages received since the start for a channel nothing here subscribes to (any more): what
   * an instance is sent without a member for it. Zero while unsubscriptions reach Redis in time.
   */
  get unroutedMessages(): number {
    return this.unrouted;
  }

  private dispatch(channel: string, data: Buffer): void {
    const subscription = this.channels.get(channel);
    if (!subscription) {
      // Redis sent what nobody here holds any more (an unsubscription on its way): dropped.
      this.unrouted += 1;
      return;
    }
    const message = new BusMessage(channel, data);
    // A copy, so that a handler that subscribes or unsubscribes does not change this delivery.
    for (const { handler } of [...subscription.registrations]) {
      try {
        const result = handler(message);
        if (result instanceof Promise) {
          result.catch((error: unknown) => this.reportHandlerError(channel, error));
        }
      } catch (error) {
        this.reportHandlerError(channel, error);
      }
    }
  }

  private reportHandlerError(channel: string, error: unknown): void {
    this.logger.error(
      `A subscriber of "${channel}" failed: ${describe(error)}`,
      error instanceof Error ? error.stack : undefined,
    );
  }
}

function assertChannel(channel: string): void {
  if (typeof channel !== 'string' || channel.length === 0) {
    throw new TypeError('A bus channel must be a non-empty string');
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
