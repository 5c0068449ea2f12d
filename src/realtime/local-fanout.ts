import { Injectable } from '@nestjs/common';
import { ConnectionRegistry } from './connection-registry';
import { PreparedFrame } from './prepared-frame';
import { RealtimeConnection } from './realtime-connection';
import { RealtimeMetrics } from './realtime-metrics';

/**
 * Sockets written per turn of the event loop. A room larger than this is delivered in slices, so
 * that acks, pings and other rooms get their turn between slices instead of waiting behind a
 * fan-out to ten thousand sockets.
 */
export const FANOUT_SLICE = 512;

/** One frame on its way to the members a room had when the frame was handed in. */
interface PendingDelivery {
  frame: PreparedFrame;
  members: RealtimeConnection[];
  next: number;
}

/**
 * Writes frames built once to this instance's connections: a room's members or a user's
 * connections, straight from the registry, with no bus in between (guarantee 9).
 *
 * A room's frames reach each member in the order they were handed in. Small rooms are written at
 * once; a large room's frames wait in the room's backlog and are written in slices on later turns,
 * so the caller (the poster's ack) never waits for them. Each frame goes to the members the room
 * had when it was handed in (a later member read `lastSeq` after it: it has the message from
 * history), minus any that left meanwhile (they were sent `left`: nothing of the room may follow).
 */
@Injectable()
export class LocalFanout {
  private readonly backlogs = new Map<string, PendingDelivery[]>();

  constructor(
    private readonly registry: ConnectionRegistry,
    private readonly metrics: RealtimeMetrics,
  ) {}

  toRoom(roomId: string, frame: PreparedFrame): void {
    const members = this.registry.membersOf(roomId);
    const backlog = this.backlogs.get(roomId);
    if (!backlog && members.size <= FANOUT_SLICE) {
      this.count(writeAll(members, frame));
      return;
    }
    const delivery = { frame, members: [...members], next: 0 };
    if (backlog) {
      backlog.push(delivery);
      return;
    }
    this.backlogs.set(roomId, [delivery]);
    setImmediate(() => this.continueRoom(roomId));
  }

  toUsers(userIds: readonly string[], frame: PreparedFrame): void {
    let written = 0;
    for (const userId of userIds) {
      written += writeAll(this.registry.connectionsOf(userId), frame);
    }
    this.count(written);
  }

  toConnections(connections: Iterable<RealtimeConnection>, frame: PreparedFrame): void {
    this.count(writeAll(connections, frame));
  }

  /** One slice of a room's backlog, then the next turn, until the backlog is empty. */
  private continueRoom(roomId: string): void {
    const backlog = this.backlogs.get(roomId);
    if (!backlog) {
      return;
    }
    let budget = FANOUT_SLICE;
    let written = 0;
    while (budget > 0 && backlog.length > 0) {
      const delivery = backlog[0];
      const end = Math.min(delivery.members.length, delivery.next + budget);
      for (let index = delivery.next; index < end; index++) {
        const member = delivery.members[index];
        if (member.rooms.has(roomId) && member.sendPrepared(delivery.frame)) {
          written++;
        }
      }
      budget -= end - delivery.next;
      delivery.next = end;
      if (end === delivery.members.length) {
        backlog.shift();
      }
    }
    this.count(written);
    if (backlog.length === 0) {
      this.backlogs.delete(roomId);
    } else {
      setImmediate(() => this.continueRoom(roomId));
    }
  }

  private count(written: number): void {
    if (written > 0) {
      this.metrics.framesSent.inc(written);
      this.metrics.fanoutDeliveries.inc(written);
    }
  }
}

function writeAll(connections: Iterable<RealtimeConnection>, frame: PreparedFrame): number {
  let written = 0;
  for (const connection of connections) {
    if (connection.sendPrepared(frame)) {
      written++;
    }
  }
  return written;
}
