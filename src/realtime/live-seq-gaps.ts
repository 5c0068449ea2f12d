import { ENTRY_EVENT } from '@libs/protocol';

/** How long a skipped seq may take to arrive (out of order) before it counts as a gap. */
export const SEQ_GAP_DEADLINE_MS = 5000;
/** Skipped seqs waiting at most, all rooms together: past it the oldest count as gaps at once. */
export const MAX_PENDING_SEQS = 10_000;

interface RoomSeqs {
  /** The highest seq delivered live since the room's first local member. */
  highest: number;
  /** Skipped seqs below `highest` not delivered yet, with their deadline (insertion: oldest first). */
  pending: Map<number, number>;
}

/**
 * Which entries of a room's sequence this instance's live delivery never saw. Per room with local
 * members it keeps the highest seq delivered and the seqs skipped below it; a skipped seq that is
 * delivered within SEQ_GAP_DEADLINE_MS (two instances' entries may arrive out of order) is no gap,
 * one that is not is. O(1) per delivered entry; memory bounded by the rooms with local members and
 * MAX_PENDING_SEQS.
 */
export class LiveSeqGaps {
  private readonly rooms = new Map<string, RoomSeqs>();
  /** Rooms with pending seqs, in the order their oldest pending seq was skipped. */
  private readonly roomsWithPending = new Set<string>();
  private pendingCount = 0;

  constructor(
    /** Called with how many seqs just became gaps. */
    private readonly onGaps: (count: number) => void,
    private readonly deadlineMs = SEQ_GAP_DEADLINE_MS,
    private readonly maxPending = MAX_PENDING_SEQS,
  ) {}

  /** Rooms tracked. */
  get roomCount(): number {
    return this.rooms.size;
  }

  /** Skipped seqs waiting for their deadline. */
  get pendingSeqs(): number {
    return this.pendingCount;
  }

  /** `seq` of `roomId` was delivered live at `now`. */
  delivered(roomId: string, seq: number, now: number): void {
    const room = this.rooms.get(roomId);
    if (!room) {
      // The first entry seen since the room's first local member: nothing before it is owed.
      this.rooms.set(roomId, { highest: seq, pending: new Map() });
      return;
    }
    if (seq <= room.highest) {
      // Late (out of order) or a duplicate.
      if (room.pending.delete(seq)) {
        this.pendingCount -= 1;
        if (room.pending.size === 0) {
          this.roomsWithPending.delete(roomId);
        }
      }
      return;
    }
    const skipped = seq - room.highest - 1;
    room.highest = seq;
    if (skipped === 0) {
      return;
    }
    // Only what fits waits; a larger jump (the bus was away) counts its excess at once.
    const waiting = Math.min(skipped, this.maxPending);
    if (skipped > waiting) {
      this.onGaps(skipped - waiting);
    }
    this.makeRoom(waiting);
    const deadline = now + this.deadlineMs;
    for (let missing = seq - waiting; missing < seq; missing++) {
      room.pending.set(missing, deadline);
    }
    this.pendingCount += waiting;
    this.roomsWithPending.add(roomId);
  }

  /** The room's last local member left: what it was still waiting for is nobody's gap. */
  forget(roomId: string): void {
    const room = this.rooms.get(roomId);
    if (room) {
      this.pendingCount -= room.pending.size;
      this.rooms.delete(roomId);
      this.roomsWithPending.delete(roomId);
    }
  }

  /** Counts as gaps the skipped seqs whose deadline is past at `now`. */
  expire(now: number): void {
    let gaps = 0;
    for (const roomId of this.roomsWithPending) {
      const room = this.rooms.get(roomId)!;
      for (const [seq, deadline] of room.pending) {
        if (deadline > now) {
          break;
        }
        room.pending.delete(seq);
        gaps += 1;
      }
      if (room.pending.size === 0) {
        this.roomsWithPending.delete(roomId);
      }
    }
    this.pendingCount -= gaps;
    if (gaps > 0) {
      this.onGaps(gaps);
    }
  }

  /** Counts the oldest pending seqs as gaps until `needed` more fit. */
  private makeRoom(needed: number): void {
    let gaps = 0;
    for (const roomId of this.roomsWithPending) {
      if (this.pendingCount - gaps + needed <= this.maxPending) {
        break;
      }
      const room = this.rooms.get(roomId)!;
      for (const seq of room.pending.keys()) {
        if (this.pendingCount - gaps + needed <= this.maxPending) {
          break;
        }
        room.pending.delete(seq);
        gaps += 1;
      }
      if (room.pending.size === 0) {
        this.roomsWithPending.delete(roomId);
      }
    }
    this.pendingCount -= gaps;
    if (gaps > 0) {
      this.onGaps(gaps);
    }
  }
}

const ENTRY_FRAME_PREFIXES = Object.values(ENTRY_EVENT).map((event) =>
  Buffer.from(`{"event":"${event}","data":{`),
);
const SEQ_KEY = Buffer.from('"seq":');
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/**
 * The seq of an entry frame (`message`, `edited`, `deleted`) from its JSON text, without parsing
 * it; undefined for any other frame. A string value cannot hold `"seq":` unescaped, so the first
 * match is the entry's own key (the third, after `id` and `roomId`).
 */
export function entrySeqOf(payload: Buffer): number | undefined {
  const prefix = ENTRY_FRAME_PREFIXES.find(
    (candidate) => payload.compare(candidate, 0, candidate.length, 0, candidate.length) === 0,
  );
  if (!prefix) {
    return undefined;
  }
  const at = payload.indexOf(SEQ_KEY, prefix.length);
  if (at < 0) {
    return undefined;
  }
  let seq = 0;
  let index = at + SEQ_KEY.length;
  for (
    ;
    index < payload.length && payload[index] >= DIGIT_0 && payload[index] <= DIGIT_9;
    index++
  ) {
    seq = seq * 10 + payload[index] - DIGIT_0;
  }
  return index > at + SEQ_KEY.length ? seq : undefined;
}
