import { Injectable, Logger } from '@nestjs/common';
import { Signal } from '@app/common/signal';
import { MessageBus, Unsubscribe } from '@libs/bus';
import { ServerEvent, ServerEventMap } from '@libs/protocol';
import { RealtimeConnection } from './realtime-connection';
import { RealtimeMetrics } from './realtime-metrics';

export const roomChannel = (roomId: string) => `room:${roomId}`;
export const userChannel = (userId: string) => `user:${userId}`;

const LEFT_FRAME_START = Buffer.from('{"event":"left"');

/** The room of a `left` frame (access revoked), else undefined; other frames are not parsed. */
function revokedRoomOf(frame: Buffer): string | undefined {
  if (!frame.subarray(0, LEFT_FRAME_START.length).equals(LEFT_FRAME_START)) {
    return undefined;
  }
  return (JSON.parse(frame.toString('utf8')) as { data: { roomId: string } }).data.roomId;
}

/** One frame, serialized once; the same bytes travel the bus and go to every socket. */
export function serializeFrame<E extends ServerEvent>(event: E, data: ServerEventMap[E]): Buffer {
  return Buffer.from(JSON.stringify({ event, data }));
}

/**
 * Delivery to live connections on every instance, through the bus: a frame published on
 * `room:<id>` reaches each connection that joined the room, one on `user:<id>` each connection
 * of that user. The bus counts subscriptions, so a channel is subscribed on Redis while at least
 * one local connection needs it. Delivery is best-effort (PRODUCT.md, guarantee 4).
 */
@Injectable()
export class RealtimeFanout {
  private readonly logger = new Logger(RealtimeFanout.name);
  private readonly subscriptions = new WeakMap<RealtimeConnection, Map<string, Unsubscribe>>();
  /** A `left {roomId}` reached a connection that had joined the room: it must stop. */
  readonly roomLeft = new Signal<{ connection: RealtimeConnection; roomId: string }>(this.logger);

  constructor(
    private readonly bus: MessageBus,
    private readonly metrics: RealtimeMetrics,
  ) {}

  async publishToRoom<E extends ServerEvent>(
    roomId: string,
    event: E,
    data: ServerEventMap[E],
  ): Promise<void> {
    await this.publish([roomChannel(roomId)], serializeFrame(event, data));
  }

  async publishToUsers<E extends ServerEvent>(
    userIds: readonly string[],
    event: E,
    data: ServerEventMap[E],
  ): Promise<void> {
    await this.publish(userIds.map(userChannel), serializeFrame(event, data));
  }

  /** From now on `connection` receives what is published on `channel`. Idempotent. */
  async subscribe(connection: RealtimeConnection, channel: string): Promise<void> {
    const channels = this.subscriptions.get(connection) ?? new Map<string, Unsubscribe>();
    this.subscriptions.set(connection, channels);
    if (channels.has(channel)) {
      return;
    }
    // Reserve the slot first: a second subscribe while this one awaits must not add another.
    channels.set(channel, () => undefined);
    const unsubscribe = await this.bus.subscribe(channel, (message) => {
      const revokedRoom = revokedRoomOf(message.data);
      if (revokedRoom === undefined) {
        if (connection.sendFrame(message.data)) {
          this.metrics.fanoutDeliveries.inc();
        }
      } else if (connection.rooms.has(revokedRoom)) {
        connection.sendFrame(message.data);
        this.roomLeft.emit({ connection, roomId: revokedRoom });
      }
    });
    if (channels.get(channel) && connection.isOpen) {
      channels.set(channel, unsubscribe);
    } else {
      unsubscribe();
    }
  }

  unsubscribe(connection: RealtimeConnection, channel: string): void {
    const channels = this.subscriptions.get(connection);
    channels?.get(channel)?.();
    channels?.delete(channel);
  }

  unsubscribeAll(connection: RealtimeConnection): void {
    const channels = this.subscriptions.get(connection);
    for (const unsubscribe of channels?.values() ?? []) {
      unsubscribe();
    }
    channels?.clear();
  }

  private async publish(channels: string[], frame: Buffer): Promise<void> {
    const results = await Promise.allSettled(
      channels.map((channel) => this.bus.publish(channel, frame)),
    );
    for (const result of results) {
      if (result.status === 'rejected') {
        // Live delivery is best-effort: the message is committed and `sync` will find it.
        this.logger.warn(`Live delivery skipped: ${(result.reason as Error).message}`);
      }
    }
  }
}
