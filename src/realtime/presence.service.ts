import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { PresenceStatus } from '@libs/protocol';
import { ConnectionRegistry } from './connection-registry';
import { FleetRelay } from './fleet-relay';
import { LocalFanout } from './local-fanout';
import { PresenceStore } from './presence-store';
import { PreparedFrame } from './prepared-frame';
import { RealtimeConnection } from './realtime-connection';
import { RegistryPresence } from './registry-presence';

/**
 * `presence {roomId, userId, status}` to the room when a user's first connection joins it
 * (online) and when their last one leaves or disconnects (offline), counted across instances.
 * Announced like a message, local first: to this instance's members at once, and to the other
 * instances as a control message on the room's control channel. The store hears of a room and
 * user only when this instance gains its first or loses its last connection of them there.
 */
@Injectable()
export class PresenceService implements OnModuleInit, OnModuleDestroy {
  private stopListening: (() => void) | undefined;

  constructor(
    private readonly store: PresenceStore,
    private readonly registry: ConnectionRegistry,
    private readonly local: RegistryPresence,
    private readonly fanout: LocalFanout,
    private readonly relay: FleetRelay,
  ) {}

  onModuleInit(): void {
    // A dead instance's users (once, fleet-wide), this instance's again after it was taken for dead.
    this.stopListening = this.store.onChange((roomId, userId, status) =>
      this.announce(roomId, userId, status),
    );
    this.relay.control.subscribe((message) => {
      if (message.type === 'presence') {
        this.deliverLocally(message.roomId, message.userId, message.status);
      }
    });
  }

  onModuleDestroy(): void {
    this.stopListening?.();
  }

  /** Call right after the registry put the connection in the room. */
  async entered(connection: RealtimeConnection, roomId: string): Promise<void> {
    const { id: userId } = connection.user;
    if (this.local.connectionsIn(roomId, userId) !== 1) {
      return;
    }
    if (await this.store.enter(roomId, userId)) {
      this.announce(roomId, userId, 'online');
    }
  }

  /** Call right after the registry took the connection out of the room. */
  async exited(connection: RealtimeConnection, roomId: string): Promise<void> {
    const { id: userId } = connection.user;
    if (this.local.holds(roomId, userId)) {
      return;
    }
    if (await this.store.exit(roomId, userId)) {
      this.announce(roomId, userId, 'offline');
    }
  }

  private announce(roomId: string, userId: string, status: PresenceStatus): void {
    this.deliverLocally(roomId, userId, status);
    this.relay.publishControl('room', roomId, { type: 'presence', roomId, userId, status });
  }

  private deliverLocally(roomId: string, userId: string, status: PresenceStatus): void {
    if (this.registry.membersOf(roomId).size > 0) {
      this.fanout.toRoom(roomId, PreparedFrame.of('presence', { roomId, userId, status }));
    }
  }
}
