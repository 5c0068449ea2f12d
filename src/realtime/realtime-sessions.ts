import { Injectable, Logger } from '@nestjs/common';
import type { WebSocket } from 'ws';
import { AuthenticatedUser } from '@app/auth/authenticated-user';
import { ConnectionRegistry } from './connection-registry';
import { FleetRelay } from './fleet-relay';
import { PresenceService } from './presence.service';
import { RealtimeConnection } from './realtime-connection';

/**
 * A connection's life on this instance: opened, rooms entered and exited, closed. Each step keeps
 * the registry, the relay's subscriptions and presence in agreement, and a connection that closed
 * while a step was awaiting something registers nothing afterwards: nothing of it can linger.
 */
@Injectable()
export class RealtimeSessions {
  private readonly logger = new Logger(RealtimeSessions.name);

  constructor(
    private readonly registry: ConnectionRegistry,
    private readonly relay: FleetRelay,
    private readonly presence: PresenceService,
  ) {}

  open(socket: WebSocket, user: AuthenticatedUser): RealtimeConnection {
    const { connection, firstOfUser } = this.registry.add(socket, user);
    if (firstOfUser) {
      // Private messages stored on other instances reach every connection of the user, unjoined.
      this.relay
        .watch('user', user.id)
        .catch((error: Error) =>
          this.logger.warn(`Private messages not subscribed: ${error.message}`),
        );
    }
    return connection;
  }

  /** The socket is gone: it leaves every room (each announced offline once), then the registry. */
  close(connection: RealtimeConnection, socket: WebSocket): void {
    for (const roomId of [...connection.rooms]) {
      this.exitRoom(connection, roomId);
    }
    const { lastOfUser } = this.registry.remove(connection, socket);
    if (lastOfUser) {
      this.relay.unwatch('user', connection.user.id);
    }
  }

  /**
   * From now on the connection gets the room's live frames, local and relayed; false when it is
   * closed (or closing) and so was not entered. Resolves once the relay listens for the room, so a
   * `lastSeq` read after it misses nothing.
   */
  async enterRoom(connection: RealtimeConnection, roomId: string): Promise<boolean> {
    if (!connection.isOpen) {
      return false;
    }
    const { added } = this.registry.joinRoom(connection, roomId);
    if (added) {
      this.presence
        .entered(connection, roomId)
        .catch((error: Error) => this.logger.warn(`Presence not updated: ${error.message}`));
    }
    // Awaited by every joiner, not only the first: the subscription may still be on its way.
    await this.relay.watch('room', roomId);
    return connection.isOpen;
  }

  /** No more live frames of the room on this connection; true when it had entered it. */
  exitRoom(connection: RealtimeConnection, roomId: string): boolean {
    const { removed, last } = this.registry.leaveRoom(connection, roomId);
    if (!removed) {
      return false;
    }
    if (last) {
      this.relay.unwatch('room', roomId);
    }
    this.presence
      .exited(connection, roomId)
      .catch((error: Error) => this.logger.warn(`Presence not updated: ${error.message}`));
    return true;
  }
}
