import { Injectable, Logger } from '@nestjs/common';
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
export class FleetRelay {
  private readonly logger = new Logger(FleetRelay.name);
  private readonly origin: Buffer;
  private readonly watched = new Map<string, Promise<Unsubscribe[]>>();
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
   * has the channels (while Redis is down: once it will subscribe them on reconnect).
   */
  async watch(audience: Audience, id: string): Promise<void> {
    const key = dataChannel(audience, id);
    let subscriptions = this.watched.get(key);
    if (!subscriptions) {
      subscriptions = Promise.all([
        this.bus.subscribe(key, (message) => this.receiveFrame(audience, id, message)),
        this.bus.subscribe(controlChannel(audience, id), (message) => this.receiveControl(message)),
      ]);
      this.watched.set(key, subscriptions);
      subscriptions.catch(() => {
        if (this.watched.get(key) === subscriptions) {
          this.watched.delete(key);
        }
      });
    }
    await subscriptions;
  }

  /** No connection here needs `audience` `id` any more. */
  unwatch(audience: Audience, id: string): void {
    const key = dataChannel(audience, id);
    const subscriptions = this.watched.get(key);
    this.watched.delete(key);
    subscriptions?.then(
      (unsubscribes) => unsubscribes.forEach((unsubscribe) => unsubscribe()),
      () => undefined,
    );
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
