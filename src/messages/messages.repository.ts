import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { DatabaseWriter } from '@app/database/database-writer';
import { SqliteStatements, toSqliteDatetime } from '@app/database/sqlite-writer';
import { DeliveryAudience, RoomSequence } from '@app/rooms/room-sequence';
import { Message } from './message.entity';
import { PostgresMessageAppender } from './postgres-message-appender';
import { MESSAGE_COLUMNS, MessageRow, toMessage } from './message-row';

/** What `append` did with a message. */
export type AppendResult =
  /** Stored now; `audience` is who gets it live (so delivery need not read the room again). */
  | { outcome: 'created'; message: Message; audience: DeliveryAudience }
  /** A message with the same (roomId, senderId, clientMsgId) was stored before: that one. */
  | { outcome: 'existing'; message: Message }
  /** The room does not exist or the sender is not a member of it: nothing was stored. */
  | { outcome: 'refused' };

export type NewMessage = Omit<Message, 'seq'>;

/** Which messages of a room to read: seq in (after, before), oldest or newest first. */
export interface MessageRange {
  after?: number;
  before?: number;
  newestFirst: boolean;
}

/**
 * A message is appended with its membership check, idempotency look-up, the room's next seq
 * (through RoomSequence) and the insert in one transaction, so that seqs have no gap and a retry
 * stores nothing twice; the transaction is shared with the other appends of the moment (group
 * commit).
 */
@Injectable()
export class MessagesRepository {
  private readonly postgres: PostgresMessageAppender | null;

  constructor(
    @InjectDataSource() dataSource: DataSource,
    private readonly writer: DatabaseWriter,
    private readonly sequence: RoomSequence,
  ) {
    this.postgres = writer.sqlite
      ? null
      : new PostgresMessageAppender(dataSource, sequence, writer.commitObserver);
  }

  /**
   * Stores `message` with the room's next seq and resolves once committed. A retry with the same
   * clientMsgId resolves with the stored one instead. Two writers to one room never get one seq,
   * and a seq is never skipped: a claim that is not stored is undone with its transaction.
   */
  async append(message: NewMessage): Promise<AppendResult> {
    if (!this.postgres) {
      return this.writer.sqliteTransaction((statements) =>
        this.appendOnSqlite(statements, message),
      );
    }
    const result = await this.postgres.append(message);
    if (result.outcome !== 'existing') {
      return result;
    }
    // The batch statement reads back little of a stored entry, which may since have been edited
    // or deleted, or be an edit: a retry (rare) reads it whole.
    const [stored] = await this.writer.read<MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM "messages" WHERE "id" = ?`,
      [result.message.id],
    );
    return stored ? { outcome: 'existing', message: toMessage(stored) } : result;
  }

  /** Up to `take` messages of the room in `range`: one indexed query on (roomId, seq). */
  async listRange(roomId: string, range: MessageRange, take: number): Promise<Message[]> {
    const conditions = ['"roomId" = ?'];
    const parameters: unknown[] = [roomId];
    if (range.after !== undefined) {
      conditions.push('"seq" > ?');
      parameters.push(range.after);
    }
    if (range.before !== undefined) {
      conditions.push('"seq" < ?');
      parameters.push(range.before);
    }
    parameters.push(take);
    const rows = await this.writer.read<MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM "messages" WHERE ${conditions.join(' AND ')}
       ORDER BY "seq" ${range.newestFirst ? 'DESC' : 'ASC'} LIMIT ?`,
      parameters,
    );
    return rows.map(toMessage);
  }

  /**
   * SQLite: synchronous, inside the writer's BEGIN IMMEDIATE transaction, so nothing runs between
   * the look-up and the insert; a throw undoes only this message's savepoint.
   */
  private appendOnSqlite(statements: SqliteStatements, message: NewMessage): AppendResult {
    if (!this.sequence.isMemberOnSqlite(statements, message.roomId, message.senderId)) {
      return { outcome: 'refused' };
    }
    if (message.clientMsgId !== null) {
      const existing = statements(
        `SELECT ${MESSAGE_COLUMNS} FROM "messages"
         WHERE "roomId" = ? AND "senderId" = ? AND "clientMsgId" = ?`,
      ).get(message.roomId, message.senderId, message.clientMsgId) as MessageRow | undefined;
      if (existing) {
        return { outcome: 'existing', message: toMessage(existing) };
      }
    }
    const claim = this.sequence.claimOnSqlite(statements, message.roomId, 1);
    if (!claim) {
      return { outcome: 'refused' };
    }
    statements(
      `INSERT INTO "messages" ("id", "roomId", "seq", "senderId", "body", "clientMsgId", "createdAt")
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      message.id,
      message.roomId,
      claim.firstSeq,
      message.senderId,
      message.body,
      message.clientMsgId,
      toSqliteDatetime(message.createdAt),
    );
    this.sequence.readOwnOnSqlite(statements, message.roomId, message.senderId, claim.firstSeq);
    return {
      outcome: 'created',
      message: { ...message, seq: claim.firstSeq },
      audience: claim.audience,
    };
  }
}
