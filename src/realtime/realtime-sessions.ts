import { Injectable, Logger } from '@nestjs/common';
import type { WebSocket } from 'ws';
import { AuthenticatedUser } from '@app/auth/authenticated-user';
import { ConnectionRegistry } from './connection-registry';
import { FleetRelay } from './fleet-relay';
import { LiveSeqGapTracker } from './live-seq-gap-tracker';
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
    private readonly seqGaps: LiveSeqGapTracker,
  ) {}

  open(socket: WebSocket, user: AuthenticatedUser): RealtimeConnection {
    const { connection, firstOfUser } = this.registry.add(socket, user);
    if (firstOfUser) {
      // Private messages stored on other instances reach every connection of the user, unjoined.
      // A failure is logged by the relay, which tries again for as long as the user is here.
      this.relay.watch('user', user.id).catch(() => undefined);
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
   * From now on the connection gets the room's live frames, local and relayed. `stillAllowed` is
   * asked once the connection is registered in the room: a revocation from then on finds it, and
   * one that came before (after the caller's own check) is in the answer. Resolves `refused` when
   * it said no, `closed` when the connection is closed (or closing), `entered` once the relay
   * listens for the room too, so that a `lastSeq` read after it misses nothing. When the relay
   * cannot listen it rejects, with nothing of the connection left in the room.
   */
  async enterRoom(
    connection: RealtimeConnection,
    roomId: string,
    stillAllowed: () => boolean | Promise<boolean>,
  ): Promise<'entered' | 'refused' | 'closed'> {
    if (!connection.isOpen) {
      return 'closed';
    }
    const { added } = this.registry.joinRoom(connection, roomId);
    if (added) {
      // Registered first, so that a revocation from now on finds it; not announced until allowed.
      const admitted = this.presence.admitting(connection, roomId);
      let allowed: boolean;
      try {
        allowed = await this.undoneOnError(connection, roomId, stillAllowed);
      } finally {
        admitted();
      }
      if (!connection.isOpen) {
        // Closing: its close takes it out of every room.
        return 'closed';
      }
      if (!allowed || !connection.rooms.has(roomId)) {
        // Not announced yet: nobody saw it online.
        this.exitRoom(connection, roomId);
        return 'refused';
      }
      this.presence
        .entered(connection, roomId)
        .catch((error: Error) => this.logger.warn(`Presence not updated: ${error.message}`));
    }
    // Awaited by every joiner, not only the first: the subscription may still be on its way.
    await this.undoneOnError(connection, roomId, () => this.relay.watch('room', roomId));
    return connection.isOpen ? 'entered' : 'closed';
  }

  /** `step`'s result; when it fails, the connection is taken out of the room before the error. */
  private async undoneOnError<T>(
    connection: RealtimeConnection,
    roomId: string,
    step: () => T | Promise<T>,
  ): Promise<T> {
    try {
      return await step();
    } catch (error) {
      this.exitRoom(connection, roomId);
      throw error;
    }
  }

  /** No more live frames of the room on this connection; true when it had entered it. */
  exitRoom(connection: RealtimeConnection, roomId: string): boolean {
    const { removed, last } = this.registry.leaveRoom(connection, roomId);
    if (!removed) {
      return false;
    }
    if (last) {
      this.relay.unwatch('room', roomId);
      this.seqGaps.forget(roomId);
    }
    this.presence
      .exited(connection, roomId)
      .catch((error: Error) => this.logger.warn(`Presence not updated: ${error.message}`));
    return true;
  }
}
