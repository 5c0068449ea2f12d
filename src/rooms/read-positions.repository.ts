import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { DatabaseWriter } from '@app/database/database-writer';
import { GroupCommit, Settled } from '@app/database/group-commit';
import { SqliteStatements } from '@app/database/sqlite-writer';
import { retryTransient } from '@app/database/transient-retry';
import { audienceOf, ClaimedRoomRow, DeliveryAudience } from './room-sequence';

/** A member's read position to move forward: to `seq`, or the room's lastSeq when lower. */
export interface ReadMark {
  roomId: string;
  userId: string;
  seq: number;
}

/** What a mark did; `refused` when the user is no member of the room (or there is no room). */
export type StoredReadMark =
  | {
      outcome: 'stored';
      /** The position after the write: the mark's seq clamped to lastSeq, or a later one. */
      lastReadSeq: number;
      lastSeq: number;
      /** Whether the write moved it (a mark at or below the position changes nothing). */
      moved: boolean;
      audience: DeliveryAudience;
    }
  | { outcome: 'refused' };

/** Marks per statement on PostgreSQL. */
const MAX_BATCH = 500;
/** Statements in flight at once. */
const MAX_IN_FLIGHT = 2;

interface ReadMarkRow extends Pick<ClaimedRoomRow, 'visibility' | 'directKey'> {
  ord: string;
  lastSeq: number | string;
  lastReadSeq: number | string | null;
  moved: boolean | number;
}

/**
 * `room_members.lastReadSeq`, moved forward only and never past the room's `lastSeq`, in one
 * statement that also reads what the answer and live delivery need. Through the write path's
 * group commit: on SQLite the writer's shared transaction, on PostgreSQL one statement for the
 * marks of a moment (of any rooms and members).
 */
@Injectable()
export class ReadPositionsRepository {
  private readonly postgres: GroupCommit<ReadMark, StoredReadMark> | null;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly writer: DatabaseWriter,
  ) {
    this.postgres = writer.sqlite
      ? null
      : new GroupCommit((marks) => this.storeOnPostgres(marks), {
          maxBatch: MAX_BATCH,
          maxInFlight: MAX_IN_FLIGHT,
          observer: writer.commitObserver,
        });
  }

  store(mark: ReadMark): Promise<StoredReadMark> {
    return this.postgres
      ? this.postgres.submit(mark)
      : this.writer.sqliteTransaction((statements) => storeOnSqlite(statements, mark));
  }

  private async storeOnPostgres(marks: ReadMark[]): Promise<Settled<StoredReadMark>[]> {
    // The coalescer writes one mark per member and room at a time; should two meet anyway, the
    // UPDATE takes one of them, and both answers read the row back.
    const rows = await retryTransient(() =>
      this.dataSource.query<ReadMarkRow[]>(POSTGRES_STORE_SQL, [
        marks.map((mark) => mark.roomId),
        marks.map((mark) => mark.userId),
        marks.map((mark) => mark.seq),
      ]),
    );
    const byOrdinal = new Map(rows.map((row) => [Number(row.ord), row]));
    return marks.map((_mark, index) => ({ ok: true, value: resultOf(byOrdinal.get(index + 1)) }));
  }
}

/**
 * Row locks on `room_members` are taken in the order of the join; a deadlock with another
 * statement moving the same members (a post moves its sender's position) is retried.
 */
const POSTGRES_STORE_SQL = `
  WITH input AS (
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::bigint[])
      WITH ORDINALITY AS t("roomId", "userId", "seq", "ord")
  ),
  moved AS (
    UPDATE "room_members" m SET "lastReadSeq" = LEAST(i."seq", r."lastSeq")
    FROM input i JOIN "rooms" r ON r."id" = i."roomId"
    WHERE m."roomId" = i."roomId" AND m."userId" = i."userId"
      AND m."lastReadSeq" < LEAST(i."seq", r."lastSeq")
    RETURNING m."roomId", m."userId", m."lastReadSeq"
  )
  SELECT i."ord", r."lastSeq", r."visibility", r."directKey",
    COALESCE(moved."lastReadSeq", m."lastReadSeq") AS "lastReadSeq",
    moved."lastReadSeq" IS NOT NULL AS "moved"
  FROM input i
  JOIN "rooms" r ON r."id" = i."roomId"
  JOIN "room_members" m ON m."roomId" = i."roomId" AND m."userId" = i."userId"
  LEFT JOIN moved ON moved."roomId" = i."roomId" AND moved."userId" = i."userId"`;

/** SQLite: inside the writer's transaction, so the clamp and the read-back see one state. */
function storeOnSqlite(statements: SqliteStatements, mark: ReadMark): StoredReadMark {
  const { changes } = statements(
    `UPDATE "room_members"
     SET "lastReadSeq" = MIN(?, (SELECT "lastSeq" FROM "rooms" WHERE "id" = "room_members"."roomId"))
     WHERE "roomId" = ? AND "userId" = ?
       AND "lastReadSeq" < MIN(?, (SELECT "lastSeq" FROM "rooms" WHERE "id" = "room_members"."roomId"))`,
  ).run(mark.seq, mark.roomId, mark.userId, mark.seq);
  const row = statements(
    `SELECT r."lastSeq", r."visibility", r."directKey", m."lastReadSeq", ? AS "moved", 1 AS "ord"
     FROM "rooms" r JOIN "room_members" m ON m."roomId" = r."id" AND m."userId" = ?
     WHERE r."id" = ?`,
  ).get(changes > 0 ? 1 : 0, mark.userId, mark.roomId) as ReadMarkRow | undefined;
  return resultOf(row);
}

function resultOf(row: ReadMarkRow | undefined): StoredReadMark {
  if (!row || row.lastReadSeq === null) {
    return { outcome: 'refused' };
  }
  return {
    outcome: 'stored',
    lastReadSeq: Number(row.lastReadSeq),
    lastSeq: Number(row.lastSeq),
    moved: Boolean(row.moved),
    audience: audienceOf(row),
  };
}
