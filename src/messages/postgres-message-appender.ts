import { DataSource } from 'typeorm';
import { GroupCommit, GroupCommitObserver, settle, Settled } from '@app/database/group-commit';
import {
  isCommitOutcomeUnknown,
  isDataError,
  postgresErrorOf,
} from '@app/database/postgres-errors';
import { retryTransient } from '@app/database/transient-retry';
import { audienceOf, ClaimedRoomRow, RoomSequence } from '@app/rooms/room-sequence';
import { MessageRow, toMessage } from './message-row';
import type { AppendResult, NewMessage } from './messages.repository';

/** Rows per statement; PostgreSQL takes them as six array parameters. */
const MAX_BATCH = 500;
/** Statements in flight at once (each holds a pooled connection for one round trip). */
const MAX_IN_FLIGHT = 4;
/** Times a batch whose outcome was unknown (connection lost) is looked up and run again. */
const MAX_UNKNOWN_OUTCOMES = 3;
/** Raised by the statement itself when it would leave a gap in seq: see APPEND_BATCH. */
const SEQ_GAP_MARKER = 'switchboard_seq_gap';

/**
 * Lost races the next attempt of the whole batch, with a fresh snapshot, gets right (besides
 * deadlocks and serialization failures): the statement's own seq-gap check (22P02), a sender
 * deleted meanwhile (23503).
 */
function isLostRace(error: unknown): boolean {
  const { code, message } = postgresErrorOf(error) ?? {};
  return (code === '22P02' && message?.includes(SEQ_GAP_MARKER) === true) || code === '23503';
}

interface BatchRow extends Partial<ClaimedRoomRow> {
  ord: string;
  insertedSeq: string | null;
  existingId: string | null;
  existingSeq: string | null;
  existingBody: string | null;
  existingCreatedAt: Date | null;
}

/**
 * One statement, one round trip, for a batch of appends (any rooms, any senders). All its CTEs
 * read one snapshot, taken before the room locks are granted; so a message another instance
 * committed meanwhile with one of these clientMsgIds is not seen as existing, its row would be
 * skipped by ON CONFLICT after its seq was claimed, and seq would have a gap. The last column
 * turns exactly that into an error (a cast that fails), which undoes the whole statement; the
 * batch is then run again and finds that message.
 */
function appendBatchSql(sequence: RoomSequence): string {
  return `
    WITH input AS (
      SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::varchar[], $6::timestamp[])
        WITH ORDINALITY AS t("id", "roomId", "senderId", "body", "clientMsgId", "createdAt", "ord")
    ),
    allowed AS (
      SELECT i.* FROM input i WHERE ${sequence.postgresMemberCondition('i')}
    ),
    existing AS (
      SELECT a."ord", m."id", m."seq", m."body", m."createdAt"
      FROM allowed a JOIN "messages" m
        ON m."roomId" = a."roomId" AND m."senderId" = a."senderId" AND m."clientMsgId" = a."clientMsgId"
    ),
    fresh AS (
      SELECT a.* FROM allowed a WHERE NOT EXISTS (SELECT 1 FROM existing e WHERE e."ord" = a."ord")
    ),
    ${sequence.postgresClaimCtes('fresh')},
    inserted AS (
      INSERT INTO "messages" ("id", "roomId", "seq", "senderId", "body", "clientMsgId", "createdAt")
      SELECT f."id", f."roomId",
        c."lastSeq" - c."n" + row_number() OVER (PARTITION BY f."roomId" ORDER BY f."ord"),
        f."senderId", f."body", f."clientMsgId", f."createdAt"
      FROM fresh f JOIN claimed c ON c."id" = f."roomId"
      ON CONFLICT ("roomId", "senderId", "clientMsgId") DO NOTHING
      RETURNING "id", "roomId", "senderId", "seq"
    ),
    ${sequence.postgresReadOwnCte('inserted')}
    SELECT i."ord", ins."seq" AS "insertedSeq",
      e."id" AS "existingId", e."seq" AS "existingSeq", e."body" AS "existingBody",
      e."createdAt" AS "existingCreatedAt", c."visibility", c."directKey",
      CASE WHEN (SELECT count(*) FROM inserted) = (SELECT coalesce(sum("n"), 0) FROM claimed)
        THEN 0
        ELSE ('${SEQ_GAP_MARKER} ' || (SELECT count(*) FROM inserted))::int
      END AS "gapCheck"
    FROM input i
    LEFT JOIN inserted ins ON ins."id" = i."id"
    LEFT JOIN existing e ON e."ord" = i."ord"
    LEFT JOIN claimed c ON c."id" = i."roomId"`;
}

/** PostgreSQL's group commit of appends: concurrent appends of any instance share statements. */
export class PostgresMessageAppender {
  private readonly sql: string;
  private readonly batches: GroupCommit<NewMessage, AppendResult>;

  constructor(
    private readonly dataSource: DataSource,
    sequence: RoomSequence,
    observer?: GroupCommitObserver,
  ) {
    this.sql = appendBatchSql(sequence);
    this.batches = new GroupCommit((messages) => this.commit(messages), {
      maxBatch: MAX_BATCH,
      maxInFlight: MAX_IN_FLIGHT,
      observer,
    });
  }

  append(message: NewMessage): Promise<AppendResult> {
    return this.batches.submit(message);
  }

  private async commit(messages: NewMessage[]): Promise<Settled<AppendResult>[]> {
    // A clientMsgId repeated within the batch is stored once; the repeats get that message.
    const firstIndex = new Map<string, number>();
    const distinct: NewMessage[] = [];
    const slot = messages.map((message) => {
      const key =
        message.clientMsgId === null
          ? null
          : JSON.stringify([message.roomId, message.senderId, message.clientMsgId]);
      const known = key === null ? undefined : firstIndex.get(key);
      if (known !== undefined) {
        return { index: known, repeat: true };
      }
      if (key !== null) {
        firstIndex.set(key, distinct.length);
      }
      distinct.push(message);
      return { index: distinct.length - 1, repeat: false };
    });
    const stored = await this.storeIsolated(distinct);
    return slot.map(({ index, repeat }) => {
      const result = stored[index];
      return repeat && result.ok && result.value.outcome === 'created'
        ? { ok: true, value: { outcome: 'existing', message: result.value.message } }
        : result;
    });
  }

  /**
   * The batch; when it fails on a data error (SQLSTATE class 22 or 23), each message alone, so
   * that a bad row fails only its caller. Any other failure is every caller's.
   */
  private async storeIsolated(messages: NewMessage[]): Promise<Settled<AppendResult>[]> {
    const together = await settle(() => this.storeResolved(messages));
    if (together.ok) {
      return together.value.map((value) => ({ ok: true, value }));
    }
    if (messages.length === 1 || !isDataError(together.error)) {
      return messages.map(() => together);
    }
    return Promise.all(
      messages.map((message) => settle(async () => (await this.storeResolved([message]))[0])),
    );
  }

  /**
   * The batch, run again after a lost race. When the connection broke before the answer came
   * (the statement may or may not have committed), the messages stored are found by their ids,
   * which are made before the insert: those were created by this batch; the others run again.
   */
  private async storeResolved(messages: NewMessage[]): Promise<AppendResult[]> {
    const results = new Map<NewMessage, AppendResult>();
    let pending = messages;
    let unknownOutcomes = 0;
    while (pending.length > 0) {
      try {
        const stored = await retryTransient(() => this.store(pending), { alsoRetry: isLostRace });
        pending.forEach((message, index) => results.set(message, stored[index]));
        pending = [];
      } catch (error) {
        if (!isCommitOutcomeUnknown(error) || ++unknownOutcomes > MAX_UNKNOWN_OUTCOMES) {
          throw error;
        }
        const created = await this.findCreated(pending);
        created.forEach((result, message) => results.set(message, result));
        pending = pending.filter((message) => !created.has(message));
      }
    }
    return messages.map((message) => results.get(message)!);
  }

  /** Which of `messages` are stored, by id (on another pooled connection: the broken one left). */
  private async findCreated(messages: NewMessage[]): Promise<Map<NewMessage, AppendResult>> {
    const rows = await retryTransient(
      () =>
        this.dataSource.query<StoredRow[]>(
          `SELECT m."id", m."seq", r."visibility", r."directKey"
           FROM "messages" m JOIN "rooms" r ON r."id" = m."roomId"
           WHERE m."id" = ANY($1::uuid[])`,
          [messages.map((message) => message.id)],
        ),
      // A read: safe to repeat while connections are being replaced.
      { alsoRetry: isCommitOutcomeUnknown },
    );
    const byId = new Map(rows.map((row) => [row.id, row]));
    const created = new Map<NewMessage, AppendResult>();
    for (const message of messages) {
      const row = byId.get(message.id);
      if (row) {
        created.set(message, {
          outcome: 'created',
          message: { ...message, seq: Number(row.seq) },
          audience: audienceOf(row),
        });
      }
    }
    return created;
  }

  private async store(messages: NewMessage[]): Promise<AppendResult[]> {
    const rows = await this.dataSource.query<BatchRow[]>(this.sql, [
      messages.map((message) => message.id),
      messages.map((message) => message.roomId),
      messages.map((message) => message.senderId),
      messages.map((message) => message.body),
      messages.map((message) => message.clientMsgId),
      // Text with a Z: cast to a timestamp without zone, that keeps the UTC wall time.
      messages.map((message) => message.createdAt.toISOString()),
    ]);
    const byOrdinal = new Map(rows.map((row) => [Number(row.ord), row]));
    return messages.map((message, index) => resultOf(message, byOrdinal.get(index + 1)));
  }
}

/** A stored message found by id, with what delivery needs of its room. */
interface StoredRow extends Pick<ClaimedRoomRow, 'visibility' | 'directKey'> {
  id: string;
  seq: string | number;
}

function resultOf(message: NewMessage, row: BatchRow | undefined): AppendResult {
  if (row?.insertedSeq != null && row.visibility) {
    return {
      outcome: 'created',
      message: { ...message, seq: Number(row.insertedSeq) },
      audience: audienceOf({ visibility: row.visibility, directKey: row.directKey ?? null }),
    };
  }
  if (row?.existingId != null) {
    const existing: MessageRow = {
      ...message,
      id: row.existingId,
      seq: row.existingSeq!,
      body: row.existingBody!,
      createdAt: row.existingCreatedAt!,
    };
    return { outcome: 'existing', message: toMessage(existing) };
  }
  return { outcome: 'refused' };
}
