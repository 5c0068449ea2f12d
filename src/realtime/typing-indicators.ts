import { Injectable, OnModuleInit } from '@nestjs/common';
import { ConnectionRegistry } from './connection-registry';
import { FleetRelay } from './fleet-relay';
import { LocalFanout } from './local-fanout';
import { PreparedFrame } from './prepared-frame';
import { RealtimeConnection } from './realtime-connection';
import { RealtimeError } from './realtime.error';

/**
 * `typing {roomId, userId}` to the room's other members: every connection in the room on every
 * instance except the typing user's own. Never stored, never queued: written to this instance's
 * members at once and published once on the room's channel as a control message, which the bus
 * drops when Redis is unavailable (it keeps nothing for later, and a late "is typing" would be
 * wrong anyway). At most one per connection and room every TYPING_RELAY_INTERVAL_MS is relayed;
 * the rest are dropped silently (they still count toward the connection's frame rate limit).
 */
@Injectable()
export class TypingIndicators implements OnModuleInit {
  constructor(
    private readonly registry: ConnectionRegistry,
    private readonly fanout: LocalFanout,
    private readonly relay: FleetRelay,
  ) {}

  onModuleInit(): void {
    this.relay.control.subscribe((message) => {
      if (message.type === 'typing') {
        this.deliverLocally(message.roomId, message.userId);
      }
    });
  }

  /** `connection` typed in `roomId`: refused unless it joined the room on this connection. */
  typing(connection: RealtimeConnection, roomId: string, now = Date.now()): void {
    if (!connection.rooms.has(roomId)) {
      throw new RealtimeError('not_member', 'Join the room on this connection first');
    }
    if (!connection.takeTypingTurn(roomId, now)) {
      return;
    }
    const userId = connection.user.id;
    this.deliverLocally(roomId, userId);
    this.relay.publishControl('room', roomId, { type: 'typing', roomId, userId });
  }

  private deliverLocally(roomId: string, userId: string): void {
    const members = this.registry.membersOf(roomId);
    if (members.size === 0) {
      return;
    }
    this.fanout.toConnections(
      othersThan(members, userId),
      PreparedFrame.of('typing', { roomId, userId }),
      roomId,
    );
  }
}

function* othersThan(
  connections: Iterable<RealtimeConnection>,
  userId: string,
): Generator<RealtimeConnection> {
  for (const connection of connections) {
    if (connection.user.id !== userId) {
      yield connection;
    }
  }
}
