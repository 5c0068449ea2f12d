import { Injectable } from '@nestjs/common';
import { SqliteStatements } from '@app/database/sqlite-writer';
import { RoomCache } from './room-cache';
import { RoomVisibility } from './room.entity';

/**
 * Who gets a room's messages live: the connections that joined it, or for a direct room both
 * users wherever they are connected (no join needed). Fixed when the room is made.
 */
export type DeliveryAudience = { kind: 'room' } | { kind: 'users'; userIds: string[] };

/** What a room hands out for `count` accepted messages: seq `firstSeq` … `firstSeq + count - 1`. */
export interface SeqClaim {
  firstSeq: number;
  audience: DeliveryAudience;
}

/** The columns of a room row that a claim reads back. */
export interface ClaimedRoomRow {
  lastSeq: number | string;
  visibility: RoomVisibility;
  directKey: string | null;
}

/**
 * The port through which the message write path asks rooms for sequence numbers: the rooms
 * module owns `rooms.lastSeq`, membership and the room's cache policy; the write path stores
 * messages. It speaks SQL because the write must stay one transaction (SQLite) and one statement
 * (PostgreSQL): the fragments here are placed into the write path's own.
 */
@Injectable()
export class RoomSequence {
  constructor(private readonly cache: RoomCache) {}

  /** SQLite, inside the writer's transaction: whether `userId` is a member of the room. */
  isMemberOnSqlite(statements: SqliteStatements, roomId: string, userId: string): boolean {
    return (
      statements('SELECT 1 FROM "room_members" WHERE "roomId" = ? AND "userId" = ?').get(
        roomId,
        userId,
      ) !== undefined
    );
  }

  /** SQLite, inside the writer's transaction: the next `count` seqs; null when there is no room. */
  claimOnSqlite(statements: SqliteStatements, roomId: string, count: number): SeqClaim | null {
    const row = statements(
      `UPDATE "rooms" SET "lastSeq" = "lastSeq" + ? WHERE "id" = ?
       RETURNING "lastSeq", "visibility", "directKey"`,
    ).get(count, roomId) as ClaimedRoomRow | undefined;
    return row ? this.claimOf(row, count) : null;
  }

  /**
   * PostgreSQL: a condition true when the sender of row `alias` ("roomId", "senderId") is a
   * member of its room.
   */
  postgresMemberCondition(alias: string): string {
    return `EXISTS (SELECT 1 FROM "room_members" rm
      WHERE rm."roomId" = ${alias}."roomId" AND rm."userId" = ${alias}."senderId")`;
  }

  /**
   * PostgreSQL: CTEs that claim seqs for the rows of CTE `accepted` (with "roomId"), `n` per room:
   * `claimed ("id", "lastSeq", "n", "visibility", "directKey")`, the room's new lastSeq after
   * the claim. Row locks are taken in id order (no deadlock between two batches of several rooms)
   * and held until the statement's transaction ends: microseconds, with nothing in between.
   */
  postgresClaimCtes(accepted: string): string {
    return `locked AS MATERIALIZED (
        SELECT r."id" FROM "rooms" r
        WHERE r."id" IN (SELECT "roomId" FROM ${accepted})
        ORDER BY r."id" FOR UPDATE
      ),
      claimed AS (
        UPDATE "rooms" r SET "lastSeq" = r."lastSeq" + c."n"
        FROM (SELECT "roomId", count(*) AS "n" FROM ${accepted} GROUP BY "roomId") c
        WHERE r."id" = c."roomId" AND (SELECT count(*) FROM locked) >= 0
        RETURNING r."id", r."lastSeq", c."n", r."visibility", r."directKey"
      )`;
  }

  /**
   * SQLite, inside the writer's transaction: the sender's own entry counts as read, so their read
   * position moves to it (forward only).
   */
  readOwnOnSqlite(statements: SqliteStatements, roomId: string, userId: string, seq: number): void {
    statements(
      `UPDATE "room_members" SET "lastReadSeq" = ?
       WHERE "roomId" = ? AND "userId" = ? AND "lastReadSeq" < ?`,
    ).run(seq, roomId, userId, seq);
  }

  /**
   * PostgreSQL: a CTE that moves each sender's read position to their newest entry of CTE
   * `stored` ("roomId", "senderId", "seq"): their own entries count as read. Row locks on
   * `room_members` come after the room locks of the claim, as in every write of a member.
   */
  postgresReadOwnCte(stored: string): string {
    return `read_own AS (
        UPDATE "room_members" rm SET "lastReadSeq" = o."seq"
        FROM (
          SELECT "roomId", "senderId", max("seq") AS "seq" FROM ${stored}
          GROUP BY "roomId", "senderId"
        ) o
        WHERE rm."roomId" = o."roomId" AND rm."userId" = o."senderId" AND rm."lastReadSeq" < o."seq"
      )`;
  }

  /** The claim a `claimed` row stands for, `count` of its seqs. */
  claimOf(row: ClaimedRoomRow, count: number): SeqClaim {
    return { firstSeq: Number(row.lastSeq) - count + 1, audience: audienceOf(row) };
  }

  /** Messages were stored: the room's cached history and lastSeq go, before the sender's ack. */
  messagesStored(roomId: string): Promise<void> {
    return this.cache.messagePosted(roomId);
  }
}

export function audienceOf(
  room: Pick<ClaimedRoomRow, 'visibility' | 'directKey'>,
): DeliveryAudience {
  if (room.visibility === RoomVisibility.Direct && room.directKey) {
    return { kind: 'users', userIds: room.directKey.split(':') };
  }
  return { kind: 'room' };
}
