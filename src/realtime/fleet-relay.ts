import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { BusMessage, MessageBus, Unsubscribe } from '@libs/bus';
import { PresenceStatus } from '@libs/protocol';
import { Signal } from '@app/common/signal';
import { ConnectionRegistry } from './connection-registry';

/** Whose live frames a channel carries: a room's members, or one user's connections. */
export type Audience = 'room' | 'user';

/** What instances tell each other beside the frames themselves (never sent to a client as is). */
export type ControlMessage =
  | { type: 'revoked'; roomId: string; userId: string | null }
  | { type: 'presence'; roomId: string; userId: string; status: PresenceStatus };

/** A frame stored on another instance, for this instance's connections of `audience` `id`. */
export interface RemoteFrame {
  audience: Audience;
  id: string;
  /** The frame's JSON text, as that instance serialized it. */
  payload: Buffer;
}

/** A channel pair this instance listens to while it has connections there, or keeps trying to. */
interface Watch {
  audience: Audience;
  id: string;
  /** The latest attempt: resolves once the bus has both channels. */
  attempt: Promise<Unsubscribe[]>;
  /** Attempts that failed in a row: the next retry waits longer. */
  failures: number;
  /** Set while a failed watch waits for its next attempt. */
  retry: NodeJS.Timeout | undefined;
}

/** A failed watch is tried again after this, doubling (with jitter) up to the cap. */
const WATCH_RETRY_FIRST_MS = 500;
const WATCH_RETRY_MAX_MS = 10_000;

/** The origin tag: an instance id (a UUID) is 36 ASCII bytes. */
const ORIGIN_LENGTH = 36;

const dataChannel = (audience: Audience, id: string) => `${audience}:${id}`;
const controlChannel = (audience: Audience, id: string) => `${audience}-control:${id}`;

/**
 * The way between instances. Live delivery is local first (LocalFanout): the relay only carries
 * a frame to the OTHER instances, tagged with its origin so that no instance delivers twice, and
 * brings theirs here. Data (frames for clients) and control (revocation, presence: typed
 * messages the receiving instance acts on) travel on separate channels, `room:<id>` and
 * `room-control:<id>` (likewise `user:…`). An instance subscribes a room's or a user's channels
 * once, while it has a connection there, however many connections that is.
 */
@Injectable()
export class FleetRelay implements OnModuleDestroy {
  private readonly logger = new Logger(FleetRelay.name);
  private readonly origin: Buffer;
  private readonly watched = new Map<string, Watch>();
  private readonly stopRetryingOnReconnect: () => void;
  readonly remoteFrames = new Signal<RemoteFrame>(this.logger);
  readonly control = new Signal<ControlMessage>(this.logger);

  constructor(
    private readonly bus: MessageBus,
    registry: ConnectionRegistry,
  ) {
    this.origin = Buffer.from(registry.instanceId, 'ascii');
    if (this.origin.length !== ORIGIN_LENGTH) {
      throw new Error(`An instance id is ${ORIGIN_LENGTH} ASCII characters`);
    }
    // The bus is back: a watch that failed meanwhile need not wait for its back-off.
    this.stopRetryingOnReconnect = bus.onReconnected(() => this.retryFailedWatches());
  }

  onModuleDestroy(): void {
    this.stopRetryingOnReconnect();
    for (const watch of this.watched.values()) {
      clearTimeout(watch.retry);
    }
  }

  /** The frame (its JSON text) to the connections of `audience` `id` on the other instances. */
  publishFrame(audience: Audience, id: string, payload: Buffer): void {
    this.publish(dataChannel(audience, id), payload);
  }

  publishControl(audience: Audience, id: string, message: ControlMessage): void {
    this.publish(controlChannel(audience, id), Buffer.from(JSON.stringify(message)));
  }

  /**
   * Receives what other instances publish for `audience` `id` from now on. Resolves once the bus
   * has the channels (while Redis is down: once it will subscribe them on reconnect); rejects
   * when this attempt failed, and then keeps trying (with back-off, and at once when the bus is
   * back) until `unwatch`: a connection that stays must not miss the audience's frames for good.
   */
  async watch(audience: Audience, id: string): Promise<void> {
    const key = dataChannel(audience, id);
    let watch = this.watched.get(key);
    if (!watch) {
      watch = { audience, id, attempt: Promise.resolve([]), failures: 0, retry: undefined };
      this.watched.set(key, watch);
      this.attempt(key, watch);
    } else if (watch.retry) {
      // Failed before and waiting for its retry: this caller needs it now.
      this.attempt(key, watch);
    }
    await watch.attempt;
  }

  /** No connection here needs `audience` `id` any more. */
  unwatch(audience: Audience, id: string): void {
    const key = dataChannel(audience, id);
    const watch = this.watched.get(key);
    if (!watch) {
      return;
    }
    this.watched.delete(key);
    clearTimeout(watch.retry);
    watch.attempt.then(
      (unsubscribes) => unsubscribes.forEach((unsubscribe) => unsubscribe()),
      () => undefined,
    );
  }

  private attempt(key: string, watch: Watch): void {
    clearTimeout(watch.retry);
    watch.retry = undefined;
    const { audience, id } = watch;
    const attempt = subscribeAll([
      () => this.bus.subscribe(key, (message) => this.receiveFrame(audience, id, message)),
      () =>
        this.bus.subscribe(controlChannel(audience, id), (message) => this.receiveControl(message)),
    ]);
    watch.attempt = attempt;
    attempt.then(
      () => (watch.failures = 0),
      (error: Error) => {
        if (this.watched.get(key) !== watch || watch.attempt !== attempt) {
          return;
        }
        watch.failures += 1;
        const ceilingMs = Math.min(
          WATCH_RETRY_MAX_MS,
          WATCH_RETRY_FIRST_MS * 2 ** Math.min(watch.failures - 1, 10),
        );
        const delayMs = Math.round(ceilingMs / 2 + (Math.random() * ceilingMs) / 2);
        // Warned once per failing watch; its retries only at debug level.
        const level = watch.failures === 1 ? 'warn' : 'debug';
        this.logger[level](
          `Not subscribed to "${key}" (${error.message}); retrying in ${delayMs} ms`,
        );
        watch.retry = setTimeout(() => this.attempt(key, watch), delayMs);
        watch.retry.unref();
      },
    );
  }

  private retryFailedWatches(): void {
    for (const [key, watch] of this.watched) {
      if (watch.retry) {
        this.attempt(key, watch);
      }
    }
  }

  private publish(channel: string, payload: Buffer): void {
    this.bus.publish(channel, Buffer.concat([this.origin, payload])).catch((error: Error) => {
      // Best-effort (guarantee 4): local members already have it; the others catch up by `sync`.
      this.logger.debug(`Not relayed to other instances: ${error.message}`);
    });
  }

  /** The payload of a message from another instance; undefined for this instance's own. */
  private foreignPayload({ data }: BusMessage): Buffer | undefined {
    if (
      data.length < ORIGIN_LENGTH ||
      data.compare(this.origin, 0, ORIGIN_LENGTH, 0, ORIGIN_LENGTH) === 0
    ) {
      return undefined;
    }
    return data.subarray(ORIGIN_LENGTH);
  }

  private receiveFrame(audience: Audience, id: string, message: BusMessage): void {
    const payload = this.foreignPayload(message);
    if (payload) {
      this.remoteFrames.emit({ audience, id, payload });
    }
  }

  private receiveControl(message: BusMessage): void {
    const payload = this.foreignPayload(message);
    if (payload) {
      this.control.emit(JSON.parse(payload.toString('utf8')) as ControlMessage);
    }
  }
}

/**
 * All of the subscriptions, or none: when one fails, those that succeeded are dropped again, so
 * that a retry does not subscribe a handler twice.
 */
async function subscribeAll(subscriptions: (() => Promise<Unsubscribe>)[]): Promise<Unsubscribe[]> {
  const outcomes = await Promise.allSettled(subscriptions.map((subscribe) => subscribe()));
  const failed = outcomes.find((outcome) => outcome.status === 'rejected');
  if (!failed) {
    return outcomes.map((outcome) => (outcome as PromiseFulfilledResult<Unsubscribe>).value);
  }
  for (const outcome of outcomes) {
    if (outcome.status === 'fulfilled') {
      outcome.value();
    }
  }
  throw failed.reason;
}
