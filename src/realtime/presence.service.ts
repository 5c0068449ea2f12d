import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { PresenceStatus } from '@libs/protocol';
import { ConnectionRegistry } from './connection-registry';
import { FleetRelay } from './fleet-relay';
import { LocalFanout } from './local-fanout';
import { PresenceStore } from './presence-store';
import { PreparedFrame } from './prepared-frame';
import { RealtimeConnection } from './realtime-connection';

/** How often live connections renew their presence entries (well inside PRESENCE_TTL_MS). */
const REFRESH_INTERVAL_MS = 30_000;

/**
 * `presence {roomId, userId, status}` to the room when a user's first connection joins it
 * (online) and when their last one leaves or disconnects (offline), counted across instances.
 * Announced like a message, local first: to this instance's members at once, and to the other
 * instances as a control message on the room's control channel.
 */
@Injectable()
export class PresenceService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(PresenceService.name);
  private refreshTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: PresenceStore,
    private readonly registry: ConnectionRegistry,
    private readonly fanout: LocalFanout,
    private readonly relay: FleetRelay,
  ) {}

  onModuleInit(): void {
    // A dead instance's users: a survivor's store reports them once, fleet-wide.
    this.store.onExpired((roomId, userId) => this.announce(roomId, userId, 'offline'));
    this.relay.control.subscribe((message) => {
      if (message.type === 'presence') {
        this.deliverLocally(message.roomId, message.userId, message.status);
      }
    });
    this.refreshTimer = setInterval(() => void this.refresh(), REFRESH_INTERVAL_MS);
    this.refreshTimer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.refreshTimer);
  }

  async entered(connection: RealtimeConnection, roomId: string): Promise<void> {
    const { id: userId } = connection.user;
    if (await this.store.enter(roomId, userId, this.registry.fleetIdOf(connection))) {
      this.announce(roomId, userId, 'online');
    }
  }

  async exited(connection: RealtimeConnection, roomId: string): Promise<void> {
    const { id: userId } = connection.user;
    if (await this.store.exit(roomId, userId, this.registry.fleetIdOf(connection))) {
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

  private async refresh(): Promise<void> {
    const entries = [];
    for (const connection of this.registry.all()) {
      for (const roomId of connection.rooms) {
        entries.push({
          roomId,
          userId: connection.user.id,
          connectionId: this.registry.fleetIdOf(connection),
        });
      }
    }
    try {
      await this.store.refresh(entries);
    } catch (error) {
      this.logger.debug(`Presence refresh failed: ${(error as Error).message}`);
    }
  }
}
