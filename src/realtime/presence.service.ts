import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { PresenceStatus } from '@libs/client';
import { PresenceStore } from './presence-store';
import { RealtimeConnection } from './realtime-connection';
import { RealtimeFanout } from './realtime-fanout';

/** How often live connections renew their presence entries (well inside PRESENCE_TTL_MS). */
const REFRESH_INTERVAL_MS = 30_000;

/**
 * `presence {roomId, userId, status}` to the room when a user's first connection joins it
 * (online) and when their last one leaves or disconnects (offline), counted across instances.
 */
@Injectable()
export class PresenceService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(PresenceService.name);
  private readonly joined = new Set<RealtimeConnection>();
  private refreshTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: PresenceStore,
    private readonly fanout: RealtimeFanout,
  ) {}

  onModuleInit(): void {
    // A dead instance's users: a survivor's store reports them once, fleet-wide.
    this.store.onExpired((roomId, userId) => void this.announce(roomId, userId, 'offline'));
    this.refreshTimer = setInterval(() => void this.refresh(), REFRESH_INTERVAL_MS);
    this.refreshTimer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.refreshTimer);
  }

  async entered(connection: RealtimeConnection, roomId: string): Promise<void> {
    this.joined.add(connection);
    if (await this.store.enter(roomId, connection.user.id, connection.id)) {
      await this.announce(roomId, connection.user.id, 'online');
    }
  }

  async exited(connection: RealtimeConnection, roomId: string): Promise<void> {
    if (await this.store.exit(roomId, connection.user.id, connection.id)) {
      await this.announce(roomId, connection.user.id, 'offline');
    }
  }

  /** The connection is gone: it leaves every room it had joined. */
  async disconnected(connection: RealtimeConnection): Promise<void> {
    this.joined.delete(connection);
    await Promise.all([...connection.rooms].map((roomId) => this.exited(connection, roomId)));
  }

  private async announce(roomId: string, userId: string, status: PresenceStatus): Promise<void> {
    await this.fanout.publishToRoom(roomId, 'presence', { roomId, userId, status });
  }

  private async refresh(): Promise<void> {
    const entries = [...this.joined].flatMap((connection) =>
      [...connection.rooms].map((roomId) => ({
        roomId,
        userId: connection.user.id,
        connectionId: connection.id,
      })),
    );
    try {
      await this.store.refresh(entries);
    } catch (error) {
      this.logger.debug(`Presence refresh failed: ${(error as Error).message}`);
    }
  }
}
