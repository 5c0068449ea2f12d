import type { RealtimeMessage } from '@libs/client';

interface RoomTrack {
  /** The seq the client should hand on next. */
  next: number;
  /** From the join's `lastSeq`; until then the first message sets `next`. */
  anchored: boolean;
}

/**
 * What a RealtimeClient handed to the application, room by room, checked against the rule it
 * promises: every message after the join exactly once, in `seq` order (posts only: the rooms'
 * seqs have no edits or deletions in this suite).
 */
export class ResumeTracker {
  private readonly rooms = new Map<string, RoomTrack>();
  missing = 0;
  duplicates = 0;

  /** The join answered: messages after `lastSeq` are owed. */
  joined(roomId: string, lastSeq: number): void {
    const room = this.rooms.get(roomId);
    if (!room) {
      this.rooms.set(roomId, { next: lastSeq + 1, anchored: true });
    } else if (!room.anchored) {
      // Messages were handed on before the join's answer reached the app.
      room.anchored = true;
    }
  }

  message(message: RealtimeMessage): void {
    const room = this.rooms.get(message.roomId);
    if (!room) {
      this.rooms.set(message.roomId, { next: message.seq + 1, anchored: false });
      return;
    }
    if (message.seq < room.next) {
      this.duplicates++;
      return;
    }
    this.missing += message.seq - room.next;
    room.next = message.seq + 1;
  }

  /** Messages up to the rooms' last seq (from the database) not handed on yet. */
  behind(lastSeq: Record<string, number>): number {
    let behind = 0;
    for (const [roomId, room] of this.rooms) {
      behind += Math.max(0, (lastSeq[roomId] ?? 0) - (room.next - 1));
    }
    return behind;
  }
}
