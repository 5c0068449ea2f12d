import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import type { Database, Statement } from 'better-sqlite3';
import { DataSource, QueryResult, Repository } from 'typeorm';
import {
  runSqliteWriteTransaction,
  toSqliteDatetime,
} from '@app/database/sqlite-write-transaction';
import { isUniqueViolation } from '@app/database/unique-violation';
import { Message } from './message.entity';

/** What `append` did with a message. */
export type AppendResult =
  | { outcome: 'created'; message: Message }
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

type SqliteOutcome =
  | { outcome: 'created'; seq: number }
  | { outcome: 'existing'; id: string }
  | { outcome: 'refused' };

/**
 * The only place that reads or writes the `messages` table, and the one write path of a
 * message: membership check, idempotency look-up, `rooms.lastSeq + 1` and insert in one
 * transaction (it touches `rooms` and `room_members` only there, to keep that one transaction).
 */
@Injectable()
export class MessagesRepository {
  private readonly sqliteStatements = new Map<string, Statement>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectRepository(Message) private readonly messages: Repository<Message>,
  ) {}

  /**
   * Stores `message` with the room's next seq and returns it once committed. A retry with the
   * same clientMsgId returns the stored one instead. Two writers to one room never get one seq,
   * and a seq is never skipped: the increment of a transaction that does not commit is undone
   * with it.
   */
  append(message: NewMessage): Promise<AppendResult> {
    return this.dataSource.options.type === 'better-sqlite3'
      ? this.appendOnSqlite(message)
      : this.appendOnPostgres(message);
  }

  findById(id: string): Promise<Message | null> {
    return this.messages.findOneBy({ id });
  }

  /** Up to `take` messages of the room in `range`. */
  listRange(roomId: string, range: MessageRange, take: number): Promise<Message[]> {
    const query = this.messages
      .createQueryBuilder('message')
      .where('message.roomId = :roomId', { roomId });
    if (range.after !== undefined) {
      query.andWhere('message.seq > :after', { after: range.after });
    }
    if (range.before !== undefined) {
      query.andWhere('message.seq < :before', { before: range.before });
    }
    return query
      .orderBy('message.seq', range.newestFirst ? 'DESC' : 'ASC')
      .limit(take)
      .getMany();
  }

  /**
   * SQLite: one synchronous BEGIN IMMEDIATE transaction. It holds the database's write lock from
   * its first statement, so no other writer (of this process or another) runs between the
   * look-up and the insert.
   */
  private async appendOnSqlite(message: NewMessage): Promise<AppendResult> {
    const result = await runSqliteWriteTransaction(this.dataSource, (database): SqliteOutcome => {
      const isMember = this.sqlite(
        database,
        'SELECT 1 FROM "room_members" WHERE "roomId" = ? AND "userId" = ?',
      ).get(message.roomId, message.senderId);
      if (!isMember) {
        return { outcome: 'refused' };
      }
      if (message.clientMsgId !== null) {
        const existing = this.sqlite(
          database,
          'SELECT "id" FROM "messages" WHERE "roomId" = ? AND "senderId" = ? AND "clientMsgId" = ?',
        ).get(message.roomId, message.senderId, message.clientMsgId) as { id: string } | undefined;
        if (existing) {
          return { outcome: 'existing', id: existing.id };
        }
      }
      const { lastSeq } = this.sqlite(
        database,
        'UPDATE "rooms" SET "lastSeq" = "lastSeq" + 1 WHERE "id" = ? RETURNING "lastSeq"',
      ).get(message.roomId) as { lastSeq: number };
      this.sqlite(
        database,
        `INSERT INTO "messages" ("id", "roomId", "seq", "senderId", "body", "clientMsgId", "createdAt")
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        message.id,
        message.roomId,
        lastSeq,
        message.senderId,
        message.body,
        message.clientMsgId,
        toSqliteDatetime(message.createdAt),
      );
      return { outcome: 'created', seq: lastSeq };
    });
    switch (result.outcome) {
      case 'created':
        return { outcome: 'created', message: { ...message, seq: result.seq } };
      case 'existing': {
        const existing = await this.findById(result.id);
        // Null only when the room was deleted since: then, as for any deleted room, refused.
        return existing ? { outcome: 'existing', message: existing } : { outcome: 'refused' };
      }
      case 'refused':
        return result;
    }
  }

  /**
   * PostgreSQL: the UPDATE of the room's row both checks membership and takes the row lock that
   * queues every other writer to this room, on any instance, until this transaction ends. The
   * look-up after it therefore sees a concurrent retry's committed message.
   */
  private async appendOnPostgres(message: NewMessage): Promise<AppendResult> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      const bumped = (await runner.query(
        `UPDATE "rooms" SET "lastSeq" = "lastSeq" + 1
         WHERE "id" = $1
           AND EXISTS (SELECT 1 FROM "room_members" WHERE "roomId" = $1 AND "userId" = $2)
         RETURNING "lastSeq"`,
        [message.roomId, message.senderId],
        true,
      )) as QueryResult<{ lastSeq: string }>;
      const row = bumped.records[0];
      if (!row) {
        await runner.rollbackTransaction();
        return { outcome: 'refused' };
      }
      if (message.clientMsgId !== null) {
        const existing = await runner.manager.findOneBy(Message, {
          roomId: message.roomId,
          senderId: message.senderId,
          clientMsgId: message.clientMsgId,
        });
        if (existing) {
          // Also undoes the increment above.
          await runner.rollbackTransaction();
          return { outcome: 'existing', message: existing };
        }
      }
      const created: Message = { ...message, seq: Number(row.lastSeq) };
      await runner.manager.insert(Message, { ...created });
      await runner.commitTransaction();
      return { outcome: 'created', message: created };
    } catch (error) {
      if (runner.isTransactionActive) {
        await runner.rollbackTransaction();
      }
      // Not expected while the row lock serialises the room's writers; kept as the last word.
      if (message.clientMsgId !== null && isUniqueViolation(error)) {
        const existing = await this.messages.findOneBy({
          roomId: message.roomId,
          senderId: message.senderId,
          clientMsgId: message.clientMsgId,
        });
        if (existing) {
          return { outcome: 'existing', message: existing };
        }
      }
      throw error;
    } finally {
      await runner.release();
    }
  }

  /** Prepared statements are kept: the connection lives as long as the data source. */
  private sqlite(database: Database, sql: string): Statement {
    let statement = this.sqliteStatements.get(sql);
    if (!statement) {
      statement = database.prepare(sql);
      this.sqliteStatements.set(sql, statement);
    }
    return statement;
  }
}
