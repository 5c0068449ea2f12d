import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { Counter } from 'prom-client';
import { AppError } from '@app/common/errors/app-error';
import { MetricsService } from '@app/metrics/metrics.service';
import { ReadMarkCoalescer } from './read-mark-coalescer';
import { READ_MARK_INTERVAL_MS } from './read-mark-interval';
import { ReadPositionsRepository, StoredReadMark } from './read-positions.repository';
import { RoomCache } from './room-cache';
import { RoomEvents } from './room-events';
import { RoomsService } from './rooms.service';

/** A member's read position in a room, and the room's lastSeq beside it. */
export interface ReadPosition {
  roomId: string;
  userId: string;
  lastReadSeq: number;
  lastSeq: number;
}

/**
 * Where members mark how far they have read a room (REST `PUT /api/rooms/:id/read`, WebSocket
 * `read`). A mark is clamped to the room's lastSeq and only moves the position forward; marks in
 * a burst are merged into one write per member and room per second (`ReadMarkCoalescer`), through
 * the write path's group commit. Once a write moved a position, the member's cached view of the
 * room is invalidated and the room's members hear `read {roomId, userId, seq}` (RoomEvents).
 */
@Injectable()
export class ReadPositionsService implements OnModuleDestroy {
  private readonly coalescer = new ReadMarkCoalescer<StoredReadMark>(
    (key, seq) => this.write(key, seq),
    READ_MARK_INTERVAL_MS,
  );

  /** Marks asked for, and the database writes they cost: the coalescing's effect. */
  private readonly marks: Counter;
  private readonly writes: Counter;

  constructor(
    private readonly positions: ReadPositionsRepository,
    private readonly rooms: RoomsService,
    private readonly cache: RoomCache,
    private readonly events: RoomEvents,
    metrics: MetricsService,
  ) {
    this.marks = metrics.counter({
      name: 'read_marks_total',
      help: 'Read positions marked (REST and WebSocket), before merging',
    });
    this.writes = metrics.counter({
      name: 'read_mark_writes_total',
      help: 'Read-position writes to the database (at most one per member and room per second)',
    });
    metrics.registryEntries('read_mark_coalescer', () => this.coalescer.size);
  }

  /** Marks still waiting for their interval are written before the database closes. */
  onModuleDestroy(): Promise<void> {
    return this.coalescer.flush();
  }

  /**
   * Checks that the caller may mark the room (a member: 404 or 403 otherwise, as for posting),
   * from the cached membership, and returns the mark's commit: callers that need not wait for it
   * (the WebSocket `read`) have been answered already.
   */
  async markRead(
    userId: string,
    roomId: string,
    seq: number,
  ): Promise<() => Promise<ReadPosition>> {
    if (!(await this.rooms.isMember(userId, roomId))) {
      await this.rooms.assertMember(userId, roomId);
    }
    this.marks.inc();
    return async () => {
      const stored = await this.coalescer.mark(keyOf(roomId, userId), seq);
      if (stored.outcome === 'refused') {
        // Removed from the room (or it was deleted) since the check.
        await this.rooms.assertMember(userId, roomId);
        throw new AppError('not_a_member', 'Join the room first');
      }
      return { roomId, userId, lastReadSeq: stored.lastReadSeq, lastSeq: stored.lastSeq };
    };
  }

  private async write(key: string, seq: number): Promise<StoredReadMark> {
    const [roomId, userId] = key.split(' ');
    this.writes.inc();
    const stored = await this.positions.store({ roomId, userId, seq });
    if (stored.outcome === 'stored' && stored.moved) {
      await this.cache.readPositionMoved(roomId, userId);
      this.events.readPositionMoved.emit({
        roomId,
        userId,
        seq: stored.lastReadSeq,
        audience: stored.audience,
      });
    }
    return stored;
  }
}

function keyOf(roomId: string, userId: string): string {
  return `${roomId} ${userId}`;
}
