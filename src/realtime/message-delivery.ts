import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InProcessMessageEvents } from '@app/messages/message-events';
import { MessageResponseDto } from '@app/messages/messages.dto';
import { RoomEvents } from '@app/rooms/room-events';
import { DeliveryAudience, RoomsService } from '@app/rooms/rooms.service';
import { RealtimeFanout } from './realtime-fanout';

/** Rooms whose audience is remembered; a room's audience never changes, so any entry stays right. */
const AUDIENCE_CACHE_SIZE = 10_000;

/**
 * Takes every committed message off the write path's seam and delivers it live on every instance:
 * to the connections that joined its room, or, for a private message, to every connection of
 * both users. The sender's ack does not wait for this. A user who leaves a room, or everyone when
 * it is deleted, gets `left {roomId}` on the connections that joined it, which stop receiving it.
 */
@Injectable()
export class MessageDelivery implements OnModuleInit {
  private readonly logger = new Logger(MessageDelivery.name);
  private readonly audiences = new Map<string, DeliveryAudience>();

  constructor(
    private readonly events: InProcessMessageEvents,
    private readonly rooms: RoomsService,
    private readonly fanout: RealtimeFanout,
    private readonly roomEvents: RoomEvents,
  ) {}

  onModuleInit(): void {
    this.events.subscribe((message) => {
      this.deliver(message).catch((error: Error) =>
        // Best-effort (PRODUCT.md, guarantee 4): the message is committed; `sync` will find it.
        this.logger.warn(`Live delivery of ${message.id} failed: ${error.message}`),
      );
    });
    this.roomEvents.accessRevoked.subscribe(({ roomId, userId }) => {
      void (userId
        ? this.fanout.publishToUsers([userId], 'left', { roomId })
        : this.fanout.publishToRoom(roomId, 'left', { roomId }));
    });
  }

  async deliver(message: MessageResponseDto): Promise<void> {
    const audience = await this.audienceOf(message.roomId);
    if (audience?.kind === 'users') {
      await this.fanout.publishToUsers(audience.userIds, 'message', message);
    } else if (audience) {
      await this.fanout.publishToRoom(message.roomId, 'message', message);
    }
  }

  private async audienceOf(roomId: string): Promise<DeliveryAudience | null> {
    const known = this.audiences.get(roomId);
    if (known) {
      return known;
    }
    const audience = await this.rooms.deliveryAudience(roomId);
    if (audience) {
      if (this.audiences.size >= AUDIENCE_CACHE_SIZE) {
        // Maps keep insertion order: drop the oldest entry.
        this.audiences.delete(this.audiences.keys().next().value!);
      }
      this.audiences.set(roomId, audience);
    }
    return audience;
  }
}
