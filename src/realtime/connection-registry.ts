import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { WebSocket } from 'ws';
import { APP_CONFIG, AppConfig } from '@config';
import { AuthenticatedUser } from '@app/auth/authenticated-user';
import { MetricsService } from '@app/metrics/metrics.service';
import { RealtimeConnection } from './realtime-connection';
import { RealtimeMetrics } from './realtime-metrics';

/** The open connections of this instance, by socket and by user, and their heartbeat. */
@Injectable()
export class ConnectionRegistry implements OnModuleInit, OnModuleDestroy {
  private readonly bySocket = new Map<WebSocket, RealtimeConnection>();
  private readonly byUser = new Map<string, Set<RealtimeConnection>>();
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: RealtimeMetrics,
    metricsService: MetricsService,
  ) {
    const bySocket = this.bySocket;
    metricsService.gauge({
      name: 'ws_connections',
      help: 'Open WebSocket connections on this instance',
      collect() {
        this.set(bySocket.size);
      },
    });
  }

  onModuleInit(): void {
    this.heartbeat = setInterval(() => {
      for (const connection of this.bySocket.values()) {
        connection.heartbeat();
      }
    }, this.config.websocket.heartbeatMs);
    this.heartbeat.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.heartbeat);
  }

  get size(): number {
    return this.bySocket.size;
  }

  add(socket: WebSocket, user: AuthenticatedUser): RealtimeConnection {
    const connection = new RealtimeConnection(socket, user, this.config.websocket, this.metrics);
    socket.on('pong', () => connection.markAlive());
    this.bySocket.set(socket, connection);
    const userConnections = this.byUser.get(user.id) ?? new Set();
    userConnections.add(connection);
    this.byUser.set(user.id, userConnections);
    return connection;
  }

  /** Forgets a closed socket; returns its connection so callers can clean up after it. */
  remove(socket: WebSocket): RealtimeConnection | undefined {
    const connection = this.bySocket.get(socket);
    if (!connection) {
      return undefined;
    }
    connection.dispose();
    this.bySocket.delete(socket);
    const userConnections = this.byUser.get(connection.user.id);
    userConnections?.delete(connection);
    if (userConnections?.size === 0) {
      this.byUser.delete(connection.user.id);
    }
    return connection;
  }

  get(socket: WebSocket): RealtimeConnection | undefined {
    return this.bySocket.get(socket);
  }

  ofUser(userId: string): ReadonlySet<RealtimeConnection> {
    return this.byUser.get(userId) ?? new Set();
  }

  /** Shutdown: every connection is closed with `code` (1001: reconnect, to another instance). */
  closeAll(code: number, reason: string): void {
    for (const connection of this.bySocket.values()) {
      connection.close(code, reason);
    }
  }

  all(): IterableIterator<RealtimeConnection> {
    return this.bySocket.values();
  }
}
