import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { PresenceStatus } from '@libs/protocol';
import { ConnectionRegistry } from './connection-registry';
import { FleetRelay } from './fleet-relay';
import { LocalFanout } from './local-fanout';
import { PresenceStore } from './presence-store';
import { PreparedFrame } from './prepared-frame';
import { RealtimeConnection } from './realtime-connection';
import { RealtimeMetrics } from './realtime-metrics';
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
  /** Connections registered in a room whose join is still being checked: not online yet. */
  private readonly pending = new Map<string, Set<RealtimeConnection>>();

  constructor(
    private readonly store: PresenceStore,
    private readonly registry: ConnectionRegistry,
    private readonly local: RegistryPresence,
    private readonly fanout: LocalFanout,
    private readonly relay: FleetRelay,
    metrics: RealtimeMetrics,
  ) {
    metrics.registryEntries('presence_admitting', () => this.pending.size);
    metrics.registryEntries('presence_store_pending', () => this.store.pendingEntries);
  }

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

  /**
   * The connection is in the registry's room but its join is still being checked: until the
   * returned function is called it counts for neither `entered` nor `exited`, so that two joins of
   * one user checked at once still announce (and store) the first one that is let in.
   */
  admitting(connection: RealtimeConnection, roomId: string): () => void {
    const key = pairKey(roomId, connection.user.id);
    const pending = this.pending.get(key) ?? new Set<RealtimeConnection>();
    this.pending.set(key, pending.add(connection));
    return () => {
      pending.delete(connection);
      if (pending.size === 0 && this.pending.get(key) === pending) {
        this.pending.delete(key);
      }
    };
  }

  /** Call once the connection is in the registry's room and let in. */
  async entered(connection: RealtimeConnection, roomId: string): Promise<void> {
    const { id: userId } = connection.user;
    if (this.admittedIn(roomId, userId) !== 1) {
      return;
    }
    if (await this.store.enter(roomId, userId)) {
      this.announce(roomId, userId, 'online');
    }
  }

  /** Call right after the registry took the connection out of the room. */
  async exited(connection: RealtimeConnection, roomId: string): Promise<void> {
    const { id: userId } = connection.user;
    if (this.admittedIn(roomId, userId) > 0) {
      return;
    }
    if (await this.store.exit(roomId, userId)) {
      this.announce(roomId, userId, 'offline');
    }
  }

  /** The user's connections here in the room, less those whose join is still being checked. */
  private admittedIn(roomId: string, userId: string): number {
    let checking = 0;
    for (const connection of this.pending.get(pairKey(roomId, userId)) ?? []) {
      if (connection.rooms.has(roomId)) {
        checking += 1;
      }
    }
    return this.local.connectionsIn(roomId, userId) - checking;
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

const pairKey = (roomId: string, userId: string) => `${roomId}\n${userId}`;
