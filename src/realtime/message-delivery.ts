import { Injectable, OnModuleInit } from '@nestjs/common';
import { ENTRY_EVENT } from '@libs/protocol';
import { CommittedMessage, InProcessMessageEvents } from '@app/messages/message-events';
import { FleetRelay, RemoteFrame } from './fleet-relay';
import { LocalFanout } from './local-fanout';
import { PreparedFrame } from './prepared-frame';

/**
 * Live delivery of every committed entry of a room's sequence (as `message`, `edited` or
 * `deleted`, by its kind), local first: the frame is built once, written to the members on this
 * instance at once (whatever the state of Redis: guarantee 9), and relayed on the
 * bus only for the other instances, which write it to theirs. A private message goes to every
 * connection of both users, without a join. Best-effort (guarantee 4): the message is committed,
 * and a client that missed it finds it with `sync`.
 */
@Injectable()
export class MessageDelivery implements OnModuleInit {
  constructor(
    private readonly events: InProcessMessageEvents,
    private readonly fanout: LocalFanout,
    private readonly relay: FleetRelay,
  ) {}

  onModuleInit(): void {
    this.events.subscribe((committed) => this.deliver(committed));
    this.relay.remoteFrames.subscribe((remote) => this.deliverRemote(remote));
  }

  /** The audience came with the commit: nothing is read from the database here. */
  deliver({ message, audience }: CommittedMessage): void {
    const frame = PreparedFrame.of(ENTRY_EVENT[message.kind], message);
    if (audience.kind === 'users') {
      this.fanout.toUsers(audience.userIds, frame);
      for (const userId of audience.userIds) {
        this.relay.publishFrame('user', userId, frame.payload);
      }
    } else {
      this.fanout.toRoom(message.roomId, frame);
      this.relay.publishFrame('room', message.roomId, frame.payload);
    }
  }

  private deliverRemote({ audience, id, payload }: RemoteFrame): void {
    const frame = new PreparedFrame(payload);
    if (audience === 'user') {
      this.fanout.toUsers([id], frame);
    } else {
      this.fanout.toRoom(id, frame);
    }
  }
}
