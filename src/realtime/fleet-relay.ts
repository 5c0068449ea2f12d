import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { BusMessage, MessageBus, Unsubscribe } from '@libs/bus';
import { Signal } from '@app/common/signal';
import { ConnectionRegistry } from './connection-registry';
import { RealtimeMetrics } from './realtime-metrics';
import {
  Audience,
  ControlMessage,
  decodeRelayMessage,
  relayChannel,
  RelayEncoder,
  UnreadableReason,
} from './relay-wire-format';

export type { Audience, ControlMessage } from './relay-wire-format';

/** A frame stored on another instance, for this instance's connections of `audience` `id`. */
export interface RemoteFrame {
  audience: Audience;
  id: string;
  /** The frame's JSON text, as that instance serialized it. */
  payload: Buffer;
}

/** At most one log line per reason this often about messages that could not be read. */
const UNREADABLE_LOG_INTERVAL_MS = 60_000;

/** A channel this instance listens to while it has connections there, or keeps trying to. */
interface Watch {
  audience: Audience;
  id: string;
  /** The latest attempt: resolves once the bus has the channel. */
  attempt: Promise<Unsubscribe>;
  /** Attempts that failed in a row: the next retry waits longer. */
  failures: number;
  /** Set while a failed watch waits for its next attempt. */
  retry: NodeJS.Timeout | undefined;
}

/** A failed watch is tried again after this, doubling (with jitter) up to the cap. */
const WATCH_RETRY_FIRST_MS = 500;
const WATCH_RETRY_MAX_MS = 10_000;

/**
 * The way between instances. Live delivery is local first (LocalFanout): the relay only carries
 * a frame to the OTHER instances, tagged with its origin so that no instance delivers twice, and
 * brings theirs here. Frames (for clients) and control messages (revocation, presence, typing:
 * typed messages the receiving instance acts on) travel on `relay:room:<id>` (likewise `relay:user:…`)
 * in the versioned format of `relay-wire-format.ts`, told apart by their kind byte, never by
 * looking into a frame. An instance subscribes a room's or a user's channel once, while it has a
 * connection there, however many connections that is. What it cannot read is dropped, counted
 * and logged, never forwarded to a client.
 */
@Injectable()
export class FleetRelay implements OnModuleDestroy {
  private readonly logger = new Logger(FleetRelay.name);
  private readonly encoder: RelayEncoder;
  private readonly unreadableLogged = new Map<UnreadableReason, { at: number; since: number }>();
  private readonly watched = new Map<string, Watch>();
  private readonly stopRetryingOnReconnect: () => void;
  readonly remoteFrames = new Signal<RemoteFrame>(this.logger);
  readonly control = new Signal<ControlMessage>(this.logger);

  constructor(
    private readonly bus: MessageBus,
    registry: ConnectionRegistry,
    private readonly metrics: RealtimeMetrics,
  ) {
    this.encoder = new RelayEncoder(registry.instanceId);
    const watched = this.watched;
    metrics.registryEntries('relay_watches', () => watched.size);
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
    this.publish(relayChannel(audience, id), this.encoder.frame(payload));
  }

  publishControl(audience: Audience, id: string, message: ControlMessage): void {
    this.publish(relayChannel(audience, id), this.encoder.control(message));
  }

  /**
   * Receives what other instances publish for `audience` `id` from now on. Resolves once the bus
   * has the channel (while Redis is down: once it will subscribe it on reconnect); rejects
   * when this attempt failed, and then keeps trying (with back-off, and at once when the bus is
   * back) until `unwatch`: a connection that stays must not miss the audience's frames for good.
   */
  async watch(audience: Audience, id: string): Promise<void> {
    const key = relayChannel(audience, id);
    let watch = this.watched.get(key);
    if (!watch) {
      watch = {
        audience,
        id,
        attempt: Promise.resolve(() => undefined),
        failures: 0,
        retry: undefined,
      };
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
    const key = relayChannel(audience, id);
    const watch = this.watched.get(key);
    if (!watch) {
      return;
    }
    this.watched.delete(key);
    clearTimeout(watch.retry);
    watch.attempt.then(
      (unsubscribe) => unsubscribe(),
      () => undefined,
    );
  }

  private attempt(key: string, watch: Watch): void {
    clearTimeout(watch.retry);
    watch.retry = undefined;
    const { audience, id } = watch;
    const attempt = this.bus.subscribe(key, (message) => this.receive(key, audience, id, message));
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

  private publish(channel: string, data: Buffer): void {
    this.bus.publish(channel, data).catch((error: Error) => {
      // Best-effort (guarantee 4): local members already have it; the others catch up by `sync`.
      this.logger.debug(`Not relayed to other instances: ${error.message}`);
    });
  }

  private receive(key: string, audience: Audience, id: string, message: BusMessage): void {
    const decoded = decodeRelayMessage(message.data);
    if (decoded.kind === 'unreadable') {
      this.ignore(decoded.reason, message.channel);
      return;
    }
    if (decoded.origin.equals(this.encoder.origin)) {
      // Our own echo: the relay carries only to the other instances.
      return;
    }
    // Unwatched: the last connection here left while this was on its way.
    const routed = this.watched.has(key);
    this.metrics.relayReceived.inc({ audience, routed: String(routed) });
    if (!routed) {
      return;
    }
    if (decoded.kind === 'control') {
      this.control.emit(decoded.message);
    } else {
      this.remoteFrames.emit({ audience, id, payload: decoded.payload });
    }
  }

  /** Counted always; logged at most once per reason per interval, with how many since. */
  private ignore(reason: UnreadableReason, channel: string): void {
    this.metrics.relayUnreadable.inc({ reason });
    const now = Date.now();
    const logged = this.unreadableLogged.get(reason);
    if (logged && now - logged.at < UNREADABLE_LOG_INTERVAL_MS) {
      logged.since += 1;
      return;
    }
    this.unreadableLogged.set(reason, { at: now, since: 0 });
    this.logger.warn(
      `Ignored a message from another instance that this release cannot read (${reason}) on "${channel}"` +
        (logged?.since ? `, and ${logged.since} more since the last such line` : '') +
        ': an instance of another release? Counted in switchboard_relay_unreadable_total',
    );
  }
}
