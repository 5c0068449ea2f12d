import { Injectable, OnModuleInit } from '@nestjs/common';
import { ENTRY_EVENT } from '@libs/protocol';
import { CommittedMessage, InProcessMessageEvents } from '@app/messages/message-events';
import { RoomEvents } from '@app/rooms/room-events';
import type { DeliveryAudience } from '@app/rooms/room-sequence';
import { FleetRelay, RemoteFrame } from './fleet-relay';
import { LiveSeqGapTracker } from './live-seq-gap-tracker';
import { LocalFanout } from './local-fanout';
import { PreparedFrame } from './prepared-frame';

/**
 * Live delivery of every committed entry of a room's sequence (as `message`, `edited` or
 * `deleted`, by its kind) and of read positions that moved, local first: the frame is built once,
 * written to the members on this instance at once (whatever the state of Redis: guarantee 9), and
 * relayed on the bus only for the other instances, which write it to theirs. A private message
 * goes to every connection of both users, without a join. Best-effort (guarantee 4): the entry is
 * committed, and a client that missed it finds it with `sync`.
 */
@Injectable()
export class MessageDelivery implements OnModuleInit {
  constructor(
    private readonly events: InProcessMessageEvents,
    private readonly fanout: LocalFanout,
    private readonly relay: FleetRelay,
    private readonly roomEvents: RoomEvents,
    private readonly seqGaps: LiveSeqGapTracker,
  ) {}

  onModuleInit(): void {
    this.events.subscribe((committed) => this.deliver(committed));
    this.roomEvents.readPositionMoved.subscribe(({ roomId, userId, seq, audience }) =>
      this.toAudience(roomId, audience, PreparedFrame.of('read', { roomId, userId, seq })),
    );
    this.relay.remoteFrames.subscribe((remote) => this.deliverRemote(remote));
  }

  /** The audience came with the commit: nothing is read from the database here. */
  deliver({ message, audience }: CommittedMessage): void {
    if (audience.kind === 'room') {
      this.seqGaps.delivered(message.roomId, message.seq);
    }
    this.toAudience(message.roomId, audience, PreparedFrame.of(ENTRY_EVENT[message.kind], message));
  }

  /**
   * A room's frame to its audience, here and on the other instances: a read position moves the
   * same way as a message (the members of a direct room get it without a join).
   */
  private toAudience(roomId: string, audience: DeliveryAudience, frame: PreparedFrame): void {
    if (audience.kind === 'users') {
      this.fanout.toUsers(audience.userIds, frame);
      for (const userId of audience.userIds) {
        this.relay.publishFrame('user', userId, frame.payload);
      }
    } else {
      this.fanout.toRoom(roomId, frame);
      this.relay.publishFrame('room', roomId, frame.payload);
    }
  }

  private deliverRemote({ audience, id, payload }: RemoteFrame): void {
    const frame = new PreparedFrame(payload);
    if (audience === 'user') {
      this.fanout.toUsers([id], frame);
    } else {
      this.seqGaps.deliveredFrame(id, payload);
      this.fanout.toRoom(id, frame);
    }
  }
}
