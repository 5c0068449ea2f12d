import { randomUUID } from 'node:crypto';
import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { WebSocket } from 'ws';
import { APP_CONFIG, AppConfig } from '@config';
import { AuthenticatedUser } from '@app/auth/authenticated-user';
import { MetricsService } from '@app/metrics/metrics.service';
import { PacedSweep } from './paced-sweep';
import { RealtimeConnection } from './realtime-connection';
import { RealtimeMetrics } from './realtime-metrics';
import { TokenExpirySchedule } from './token-expiry';

const NO_CONNECTIONS: ReadonlySet<RealtimeConnection> = new Set();

/**
 * The open connections of this instance: by socket, by user and by room, which is all that local
 * delivery reads. It only keeps state (and the one heartbeat and expiry timer of all connections);
 * RealtimeSessions decides what happens when a room or a user gains or loses its last connection.
 */
@Injectable()
export class ConnectionRegistry implements OnModuleInit, OnModuleDestroy {
  /** This process among the fleet: tags what it publishes, and names its presence in Redis. */
  readonly instanceId = randomUUID();
  private readonly bySocket = new Map<WebSocket, RealtimeConnection>();
  private readonly byUser = new Map<string, Set<RealtimeConnection>>();
  private readonly byRoom = new Map<string, Set<RealtimeConnection>>();
  private readonly expiry = new TokenExpirySchedule();
  /** Pings each connection once per interval, a slice at a time: never all of them in one turn. */
  private readonly heartbeat: PacedSweep<RealtimeConnection>;
  private serials = 0;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: RealtimeMetrics,
    metricsService: MetricsService,
  ) {
    this.heartbeat = new PacedSweep(this.bySocket, config.websocket.heartbeatMs, (connection) =>
      connection.heartbeat(),
    );
    const { bySocket, byRoom } = this;
    metricsService.gauge({
      name: 'ws_connections',
      help: 'Open WebSocket connections on this instance',
      collect() {
        this.set(bySocket.size);
      },
    });
    metricsService.gauge({
      name: 'ws_rooms_live',
      help: 'Rooms with at least one live WebSocket connection on this instance',
      collect() {
        this.set(byRoom.size);
      },
    });
    metricsService.registryEntries('connections_by_socket', () => bySocket.size);
    metricsService.registryEntries('connections_by_user', () => this.byUser.size);
    metricsService.registryEntries('connections_by_room', () => byRoom.size);
    // Walks the rooms and the connections: at scrape time only, a few ms at 30,000 sockets.
    metricsService.registryEntries('room_memberships', () => sumOf(byRoom.values(), setSize));
    metricsService.registryEntries('token_expiry_schedule', () => this.expiry.size);
    metricsService.registryEntries('typing_throttles', () =>
      sumOf(bySocket.values(), (connection) => connection.typingRoomsTracked),
    );
    metricsService.registryEntries('connection_outboxes', () =>
      sumOf(bySocket.values(), (connection) => (connection.outbox ? 1 : 0)),
    );
  }

  onModuleInit(): void {
    this.heartbeat.start();
    this.expiry.start();
  }

  onModuleDestroy(): void {
    this.heartbeat.stop();
    this.expiry.stop();
  }

  get size(): number {
    return this.bySocket.size;
  }

  /** Registers a new socket; `firstOfUser` says this instance had no connection of the user. */
  add(
    socket: WebSocket,
    user: AuthenticatedUser,
  ): { connection: RealtimeConnection; firstOfUser: boolean } {
    const connection = new RealtimeConnection(
      ++this.serials,
      socket,
      user,
      this.config.websocket,
      this.metrics,
    );
    this.bySocket.set(socket, connection);
    this.expiry.schedule(connection);
    return { connection, firstOfUser: addTo(this.byUser, user.id, connection) };
  }

  /** Forgets a closed socket; its rooms must have been left first (see RealtimeSessions.close). */
  remove(connection: RealtimeConnection, socket: WebSocket): { lastOfUser: boolean } {
    connection.dispose();
    this.expiry.cancel(connection);
    this.bySocket.delete(socket);
    return { lastOfUser: removeFrom(this.byUser, connection.user.id, connection) };
  }

  /** The token was renewed: the connection now expires with the new one. */
  renewed(connection: RealtimeConnection, user: AuthenticatedUser): void {
    connection.renew(user);
    this.expiry.schedule(connection);
  }

  /** Adds the connection to the room; `first` says the room had no connection here before. */
  joinRoom(connection: RealtimeConnection, roomId: string): { added: boolean; first: boolean } {
    if (connection.rooms.has(roomId)) {
      return { added: false, first: false };
    }
    connection.rooms.add(roomId);
    return { added: true, first: addTo(this.byRoom, roomId, connection) };
  }

  /** Takes the connection out of the room; `last` says no connection here is left in it. */
  leaveRoom(connection: RealtimeConnection, roomId: string): { removed: boolean; last: boolean } {
    if (!connection.rooms.delete(roomId)) {
      return { removed: false, last: false };
    }
    connection.forgetRoom(roomId);
    return { removed: true, last: removeFrom(this.byRoom, roomId, connection) };
  }

  get(socket: WebSocket): RealtimeConnection | undefined {
    return this.bySocket.get(socket);
  }

  /** A live view: delivery iterates it as connections come and go. */
  membersOf(roomId: string): ReadonlySet<RealtimeConnection> {
    return this.byRoom.get(roomId) ?? NO_CONNECTIONS;
  }

  connectionsOf(userId: string): ReadonlySet<RealtimeConnection> {
    return this.byUser.get(userId) ?? NO_CONNECTIONS;
  }

  /** The server is closing: every socket is cut at once. */
  terminateAll(): void {
    for (const socket of this.bySocket.keys()) {
      socket.terminate();
    }
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

/** Adds to the set under `key`; true when the set was created for it. */
function addTo<T>(index: Map<string, Set<T>>, key: string, value: T): boolean {
  const members = index.get(key);
  if (members) {
    members.add(value);
    return false;
  }
  index.set(key, new Set([value]));
  return true;
}

/** Removes from the set under `key`; true when that emptied (and dropped) the set. */
function removeFrom<T>(index: Map<string, Set<T>>, key: string, value: T): boolean {
  const members = index.get(key);
  if (!members?.delete(value) || members.size > 0) {
    return false;
  }
  index.delete(key);
  return true;
}

function sumOf<T>(items: Iterable<T>, size: (item: T) => number): number {
  let sum = 0;
  for (const item of items) {
    sum += size(item);
  }
  return sum;
}

function setSize(set: ReadonlySet<unknown>): number {
  return set.size;
}
