import { Injectable } from '@nestjs/common';
import { ConnectionRegistry } from './connection-registry';
import { PreparedFrame } from './prepared-frame';
import { RealtimeConnection } from './realtime-connection';
import { RealtimeMetrics } from './realtime-metrics';

/**
 * Sockets written per turn of the event loop, all rooms together. Past it, frames wait in their
 * connections' outboxes and are written on later turns, so that acks, pings, readiness probes and accepted
 * upgrades get their turn between slices instead of waiting behind a fan-out to ten thousand
 * sockets, or behind a hundred relayed messages that arrived in one read from Redis.
 */
export const FANOUT_SLICE = 64;

/**
 * Time a turn spends writing queued frames at most. libuv accepts one connection per listening
 * descriptor per turn of the loop (libuv/libuv#3696), so while a reconnect storm waits in the
 * listen queue, the turns' length sets the instance's accept rate (times ACCEPTS_PER_TURN, see
 * `AcceptDescriptors`). Measured in the scale suite with one descriptor (a survivor with 15,000
 * sockets and 50 posts a second, taking 4,000 more): 512 sockets and 5 ms per turn gave 37 turns, so 37
 * accepts, a second, and the storm outlasted the 90 s watched; 128 and 2 ms gave 54 to 67 accepts
 * a second (all back in 60 to 74 s); 64 and 1 ms gave 88 to 99 (all back in 40 to 45 s). A
 * message to 10,000 members in one room now takes 156 turns, and pays for them: in three
 * interleaved pairs of `npm run bench -- --only ws-fanout` it reached 0.84 to 0.89 of the bare
 * broadcast against 0.90 to 1.02 with 512 and 5 ms (CPU per delivery 1.21 to 1.27 × bare against
 * 1.13 to 1.19 ×); at 5,000 members the two were alike.
 */
export const FANOUT_TURN_MS = 1;
/** Writes between two looks at the clock. */
const CLOCK_EVERY = 32;
/** Flushed entries at the front of the waiting list that make it worth copying the rest down. */
const COMPACT_AFTER = 4096;

/**
 * Writes frames built once to this instance's connections: a room's members or a user's
 * connections, straight from the registry, with no bus in between (guarantee 9).
 *
 * At most FANOUT_SLICE sockets are written per turn of the event loop. Past that, a frame waits in
 * its connection's outbox, and later turns flush the outboxes, oldest first, for at most
 * FANOUT_TURN_MS each: all of a connection's waiting frames in one write. So the caller (the
 * poster's ack) never waits for a large room, a burst of frames costs many short turns instead of
 * one long stall, and the busier the instance, the more frames share a system call. Each connection gets
 * its frames in the order they were handed in (once it has frames waiting, every new one waits
 * behind them). A room's frame goes to the members the room had when it was handed in (a later
 * member read `lastSeq` after it: it has the message from history), minus any that left meanwhile
 * (they were sent `left`: nothing of the room may follow).
 */
@Injectable()
export class LocalFanout {
  /** Connections with frames in their outbox, oldest first, from `head` on. */
  private waiting: RealtimeConnection[] = [];
  private head = 0;
  /** Sockets written since the current turn began. */
  private writtenThisTurn = 0;
  private turnEndScheduled = false;

  constructor(
    private readonly registry: ConnectionRegistry,
    private readonly metrics: RealtimeMetrics,
  ) {
    metrics.registryEntries('fanout_waiting', () => this.waiting.length - this.head);
  }

  toRoom(roomId: string, frame: PreparedFrame): void {
    this.deliver(this.registry.membersOf(roomId), frame, roomId);
  }

  toUsers(userIds: readonly string[], frame: PreparedFrame): void {
    for (const userId of userIds) {
      this.deliver(this.registry.connectionsOf(userId), frame, undefined);
    }
  }

  /** With `roomId`: a frame of that room, not written to a connection that left it meanwhile. */
  toConnections(
    connections: Iterable<RealtimeConnection>,
    frame: PreparedFrame,
    roomId?: string,
  ): void {
    this.deliver(connections, frame, roomId);
  }

  /** Writes now while the turn has room and the connection has nothing waiting; else queues. */
  private deliver(
    connections: Iterable<RealtimeConnection>,
    frame: PreparedFrame,
    roomId: string | undefined,
  ): void {
    let written = 0;
    for (const connection of connections) {
      if (connection.outbox) {
        connection.outbox.push(frame, roomId);
      } else if (this.writtenThisTurn < FANOUT_SLICE) {
        this.writtenThisTurn++;
        written += connection.sendPrepared(frame) ? 1 : 0;
      } else {
        connection.outbox = [frame, roomId];
        this.waiting.push(connection);
      }
    }
    this.count(written);
    this.scheduleTurnEnd();
  }

  private scheduleTurnEnd(): void {
    if (!this.turnEndScheduled && (this.writtenThisTurn > 0 || this.head < this.waiting.length)) {
      this.turnEndScheduled = true;
      setImmediate(() => this.nextTurn());
    }
  }

  /** A new turn: its slice flushes the oldest outboxes; what is left waits again. */
  private nextTurn(): void {
    this.turnEndScheduled = false;
    this.writtenThisTurn = 0;
    const turnEnds = performance.now() + FANOUT_TURN_MS;
    let written = 0;
    while (this.head < this.waiting.length) {
      const connection = this.waiting[this.head++];
      written += connection.flushOutbox();
      this.writtenThisTurn++;
      if (
        this.writtenThisTurn >= FANOUT_SLICE ||
        (this.writtenThisTurn % CLOCK_EVERY === 0 && performance.now() >= turnEnds)
      ) {
        break;
      }
    }
    if (this.head === this.waiting.length) {
      this.waiting = [];
      this.head = 0;
    } else if (this.head >= COMPACT_AFTER) {
      this.waiting = this.waiting.slice(this.head);
      this.head = 0;
    }
    this.count(written);
    this.scheduleTurnEnd();
  }

  private count(written: number): void {
    if (written > 0) {
      this.metrics.framesSent.inc(written);
      this.metrics.fanoutDeliveries.inc(written);
    }
  }
}
