import { Injectable, OnModuleInit } from '@nestjs/common';
import { RoomEvents } from '@app/rooms/room-events';
import { ConnectionRegistry } from './connection-registry';
import { FleetRelay } from './fleet-relay';
import { LocalFanout } from './local-fanout';
import { PreparedFrame } from './prepared-frame';
import { RealtimeSessions } from './realtime-sessions';

/**
 * Someone lost access to a room (left it over REST, was removed, or the room was deleted): their
 * connections that joined it get `left {roomId}` and no more of its frames, on every instance.
 * Applied here at once, and sent to the other instances as a control message: to the user's
 * control channel when one user lost access, to the room's when everyone did.
 */
@Injectable()
export class RoomAccessRevocation implements OnModuleInit {
  constructor(
    private readonly roomEvents: RoomEvents,
    private readonly registry: ConnectionRegistry,
    private readonly sessions: RealtimeSessions,
    private readonly fanout: LocalFanout,
    private readonly relay: FleetRelay,
  ) {}

  onModuleInit(): void {
    this.roomEvents.accessRevoked.subscribe(({ roomId, userId }) => {
      this.revokeHere(roomId, userId);
      this.relay.publishControl(userId ? 'user' : 'room', userId ?? roomId, {
        type: 'revoked',
        roomId,
        userId,
      });
    });
    this.relay.control.subscribe((message) => {
      if (message.type === 'revoked') {
        this.revokeHere(message.roomId, message.userId);
      }
    });
  }

  /** On this instance only; `userId` null: every connection in the room. */
  revokeHere(roomId: string, userId: string | null): void {
    const affected = [
      ...(userId ? this.registry.connectionsOf(userId) : this.registry.membersOf(roomId)),
    ].filter((connection) => this.sessions.exitRoom(connection, roomId));
    if (affected.length > 0) {
      this.fanout.toConnections(affected, PreparedFrame.of('left', { roomId }));
    }
  }
}
