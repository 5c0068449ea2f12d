import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { CommittedMessage, InProcessMessageEvents } from '@app/messages/message-events';
import { RoomEvents } from '@app/rooms/room-events';
import { RealtimeFanout } from './realtime-fanout';

/**
 * Takes every committed message off the write path's seam and delivers it live on every instance:
 * to the connections that joined its room, or, for a private message, to every connection of
 * both users. The sender's ack does not wait for this. A user who leaves a room, or everyone when
 * it is deleted, gets `left {roomId}` on the connections that joined it, which stop receiving it.
 */
@Injectable()
export class MessageDelivery implements OnModuleInit {
  private readonly logger = new Logger(MessageDelivery.name);

  constructor(
    private readonly events: InProcessMessageEvents,
    private readonly fanout: RealtimeFanout,
    private readonly roomEvents: RoomEvents,
  ) {}

  onModuleInit(): void {
    this.events.subscribe((committed) => {
      this.deliver(committed).catch((error: Error) =>
        // Best-effort (PRODUCT.md, guarantee 4): the message is committed; `sync` will find it.
        this.logger.warn(`Live delivery of ${committed.message.id} failed: ${error.message}`),
      );
    });
    this.roomEvents.accessRevoked.subscribe(({ roomId, userId }) => {
      void (userId
        ? this.fanout.publishToUsers([userId], 'left', { roomId })
        : this.fanout.publishToRoom(roomId, 'left', { roomId }));
    });
  }

  /** The audience came with the commit: nothing is read from the database here. */
  async deliver({ message, audience }: CommittedMessage): Promise<void> {
    if (audience.kind === 'users') {
      await this.fanout.publishToUsers(audience.userIds, 'message', message);
    } else {
      await this.fanout.publishToRoom(message.roomId, 'message', message);
    }
  }
}
