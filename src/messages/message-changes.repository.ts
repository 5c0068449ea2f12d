import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { DatabaseWriter, toPostgresPlaceholders } from '@app/database/database-writer';
import { isCommitOutcomeUnknown } from '@app/database/postgres-errors';
import { SqliteStatements, toSqliteDatetime } from '@app/database/sqlite-writer';
import { retryTransient } from '@app/database/transient-retry';
import { isForeignKeyViolation } from '@app/database/unique-violation';
import { ClaimedRoomRow, DeliveryAudience, RoomSequence } from '@app/rooms/room-sequence';
import { Message } from './message.entity';
import { MESSAGE_COLUMNS, MessageRow, toMessage } from './message-row';

/** An edit or delete of message `messageId`, asked by `senderId`: the entry it would store. */
export interface MessageChange {
  kind: 'edit' | 'delete';
  /** The entry's id, made before the write (a write whose commit went unanswered finds it). */
  id: string;
  roomId: string;
  senderId: string;
  messageId: string;
  /** The new text of an edit; `""` for a delete. */
  body: string;
  clientMsgId: string | null;
  createdAt: Date;
}

/** Why nothing was stored. */
export type ChangeRefusal =
  /** No such room, or the caller is not a member of it. */
  | 'not_member'
  /** No message with that id in the room (an edit or delete entry is not a message). */
  | 'no_message'
  /** Neither its sender (nor, for a delete, the room's owner). */
  | 'not_allowed'
  /** An edit of a deleted message. */
  | 'deleted'
  /** The clientMsgId was used by the caller in this room for another entry. */
  | 'key_reused';

export type ChangeResult =
  | { outcome: 'created'; entry: Message; audience: DeliveryAudience }
  /** The same change was stored before (a retried edit, a second delete): its entry. */
  | { outcome: 'existing'; entry: Message }
  | { outcome: 'refused'; reason: ChangeRefusal };

/** What the decision reads, under the room's lock (PostgreSQL) or the writer's transaction. */
interface RoomFacts {
  ownerId: string | null;
  isMember: boolean | number;
}

interface RelatedRow extends MessageRow {
  role: 'self' | 'target' | 'sameKey' | 'priorDelete';
}

interface Related {
  self?: Message;
  target?: Message;
  sameKey?: Message;
  priorDelete?: Message;
}

const ROOM_FACTS_SQL = `SELECT r."ownerId", EXISTS (
    SELECT 1 FROM "room_members" rm WHERE rm."roomId" = r."id" AND rm."userId" = ?
  ) AS "isMember" FROM "rooms" r WHERE r."id" = ?`;

/** The entry itself (a retry after an unanswered commit), the target, a same-key entry, its delete. */
const RELATED_SQL = `
  SELECT 'self' AS "role", ${MESSAGE_COLUMNS} FROM "messages" WHERE "id" = ?
  UNION ALL
  SELECT 'target', ${MESSAGE_COLUMNS} FROM "messages" WHERE "id" = ? AND "roomId" = ?
  UNION ALL
  SELECT 'sameKey', ${MESSAGE_COLUMNS} FROM "messages"
    WHERE "roomId" = ? AND "senderId" = ? AND "clientMsgId" = ?
  UNION ALL
  SELECT 'priorDelete', ${MESSAGE_COLUMNS} FROM "messages"
    WHERE "messageId" = ? AND "kind" = 'delete' AND "roomId" = ?`;

function relatedParameters(change: MessageChange): unknown[] {
  const { id, roomId, senderId, messageId, clientMsgId } = change;
  return [id, messageId, roomId, roomId, senderId, clientMsgId, messageId, roomId];
}

/**
 * Edits and deletes: each is an entry of the room's sequence with the room's next seq, stored
 * with the change it makes to its message in one transaction of its own (never in the appends'
 * group statement): the seq claim, the entry, the message's new text or tombstone, the caller's
 * read position (their own entry counts as read). Rare next to
 * sends, they take the simple way.
 */
@Injectable()
export class MessageChangesRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly writer: DatabaseWriter,
    private readonly sequence: RoomSequence,
  ) {}

  apply(change: MessageChange): Promise<ChangeResult> {
    if (this.writer.sqlite) {
      return this.writer.sqliteTransaction((statements) => this.applyOnSqlite(statements, change));
    }
    return retryTransient(
      () => this.dataSource.transaction((manager) => this.applyOnPostgres(manager, change)),
      {
        // An unanswered commit is found by the entry's id on the next attempt; a sender deleted
        // meanwhile is no member on it.
        alsoRetry: (error) => isCommitOutcomeUnknown(error) || isForeignKeyViolation(error),
      },
    );
  }

  /** SQLite: synchronous inside the writer's BEGIN IMMEDIATE, so nothing runs between read and write. */
  private applyOnSqlite(statements: SqliteStatements, change: MessageChange): ChangeResult {
    const room = statements(ROOM_FACTS_SQL).get(change.senderId, change.roomId) as
      RoomFacts | undefined;
    const related = relatedOf(
      statements(RELATED_SQL).all(...relatedParameters(change)) as RelatedRow[],
    );
    const decided = decide(change, room, related);
    if (decided) {
      return decided;
    }
    const claim = this.sequence.claimOnSqlite(statements, change.roomId, 1);
    if (!claim) {
      return { outcome: 'refused', reason: 'not_member' };
    }
    const at = toSqliteDatetime(change.createdAt);
    statements(
      `INSERT INTO "messages"
         ("id", "roomId", "seq", "senderId", "body", "clientMsgId", "createdAt", "kind", "messageId")
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      change.id,
      change.roomId,
      claim.firstSeq,
      change.senderId,
      change.body,
      change.clientMsgId,
      at,
      change.kind,
      change.messageId,
    );
    if (change.kind === 'edit') {
      statements(`UPDATE "messages" SET "body" = ?, "editedAt" = ? WHERE "id" = ?`).run(
        change.body,
        at,
        change.messageId,
      );
    } else {
      statements(`UPDATE "messages" SET "body" = '', "deletedAt" = ? WHERE "id" = ?`).run(
        at,
        change.messageId,
      );
      statements(`UPDATE "messages" SET "body" = '' WHERE "messageId" = ? AND "kind" = 'edit'`).run(
        change.messageId,
      );
    }
    this.sequence.readOwnOnSqlite(statements, change.roomId, change.senderId, claim.firstSeq);
    return createdOf(change, claim.firstSeq, claim.audience);
  }

  /**
   * PostgreSQL: the room's row is locked first (as the appends' statement locks it), so every
   * read after it sees each change of the room committed before, and nothing else of the room is
   * stored until this commits; then one statement claims the seq, inserts the entry and changes
   * the message and moves the caller's read position past their own entry (rooms row, then
   * messages and members rows: the appends' lock order).
   */
  private async applyOnPostgres(
    manager: EntityManager,
    change: MessageChange,
  ): Promise<ChangeResult> {
    const [room] = await manager.query<RoomFacts[]>(
      toPostgresPlaceholders(`${ROOM_FACTS_SQL} FOR UPDATE OF r`),
      [change.senderId, change.roomId],
    );
    const related = relatedOf(
      await manager.query<RelatedRow[]>(
        toPostgresPlaceholders(RELATED_SQL),
        relatedParameters(change),
      ),
    );
    const decided = decide(change, room, related);
    if (decided) {
      return decided;
    }
    const [claimed] = await manager.query<ClaimedRoomRow[]>(
      `WITH claimed AS (
         UPDATE "rooms" SET "lastSeq" = "lastSeq" + 1 WHERE "id" = $2
         RETURNING "lastSeq", "visibility", "directKey"
       ),
       inserted AS (
         INSERT INTO "messages"
           ("id", "roomId", "seq", "senderId", "body", "clientMsgId", "createdAt", "kind", "messageId")
         SELECT $1::uuid, $2::uuid, c."lastSeq", $3::uuid, $4::text, $5::varchar, $6::timestamp,
           $7::varchar, $8::uuid
         FROM claimed c
         RETURNING "roomId", "senderId", "seq"
       ),
       ${this.sequence.postgresReadOwnCte('inserted')},
       changed AS (
         UPDATE "messages" SET
           "body" = CASE WHEN $7 = 'edit' THEN $4::text ELSE '' END,
           "editedAt" = CASE WHEN $7 = 'edit' THEN $6::timestamp ELSE "editedAt" END,
           "deletedAt" = CASE WHEN $7 = 'delete' THEN $6::timestamp ELSE "deletedAt" END
         WHERE "id" = $8
       ),
       erased AS (
         UPDATE "messages" SET "body" = ''
         WHERE $7 = 'delete' AND "messageId" = $8 AND "kind" = 'edit'
       )
       SELECT * FROM claimed`,
      [
        change.id,
        change.roomId,
        change.senderId,
        change.body,
        change.clientMsgId,
        // Text with a Z: cast to a timestamp without zone, that keeps the UTC wall time.
        change.createdAt.toISOString(),
        change.kind,
        change.messageId,
      ],
    );
    const claim = this.sequence.claimOf(claimed, 1);
    return createdOf(change, claim.firstSeq, claim.audience);
  }
}

function relatedOf(rows: RelatedRow[]): Related {
  const related: Related = {};
  for (const { role, ...row } of rows) {
    related[role] = toMessage(row);
  }
  return related;
}

/**
 * What a change does, as the rules say, from what was read: a result when it stores nothing,
 * undefined when it is to be stored.
 */
function decide(
  change: MessageChange,
  room: RoomFacts | undefined,
  { self, target, sameKey, priorDelete }: Related,
): ChangeResult | undefined {
  if (self) {
    // Stored by an attempt whose commit went unanswered.
    return { outcome: 'existing', entry: self };
  }
  if (!room || !room.isMember) {
    return { outcome: 'refused', reason: 'not_member' };
  }
  if (sameKey) {
    return sameKey.kind === change.kind && sameKey.messageId === change.messageId
      ? { outcome: 'existing', entry: sameKey }
      : { outcome: 'refused', reason: 'key_reused' };
  }
  if (!target || target.kind !== 'message') {
    return { outcome: 'refused', reason: 'no_message' };
  }
  const allowed =
    target.senderId === change.senderId ||
    (change.kind === 'delete' && room.ownerId === change.senderId);
  if (!allowed) {
    return { outcome: 'refused', reason: 'not_allowed' };
  }
  if (target.deletedAt !== null) {
    return change.kind === 'delete' && priorDelete
      ? { outcome: 'existing', entry: priorDelete }
      : { outcome: 'refused', reason: 'deleted' };
  }
  return undefined;
}

function createdOf(change: MessageChange, seq: number, audience: DeliveryAudience): ChangeResult {
  return {
    outcome: 'created',
    entry: { ...change, seq, editedAt: null, deletedAt: null },
    audience,
  };
}
