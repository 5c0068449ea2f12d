import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { median } from '@bench/support/statistics';
import { serveRunner } from '@bench/support/worker-protocol';
import {
  InsertLoad,
  InsertLoopResult,
  MAX_MESSAGES_PER_RUN,
  SQLITE_STATEMENTS,
} from './message-insert-statements';

/**
 * The SQLite write baseline: better-sqlite3 alone, on the server's own database file (the server
 * is idle meanwhile), WAL and synchronous=FULL as the server opens it, the same five statements
 * per message in BEGIN IMMEDIATE transactions of `perTransaction` messages.
 */
let database: Database.Database | undefined;

function open(options: { path: string }): void {
  database = new Database(options.path, { timeout: 5000 });
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  database.pragma('foreign_keys = ON');
}

function run(load: InsertLoad): InsertLoopResult {
  if (!database) {
    throw new Error('open the database first');
  }
  const db = database;
  const statements = {
    isMember: db.prepare(SQLITE_STATEMENTS.isMember),
    existing: db.prepare(SQLITE_STATEMENTS.existing),
    bumpSeq: db.prepare(SQLITE_STATEMENTS.bumpSeq),
    insert: db.prepare(SQLITE_STATEMENTS.insert),
    readOwn: db.prepare(SQLITE_STATEMENTS.readOwn),
  };
  const perTransaction = load.perTransaction ?? 1;
  let messages = 0;
  const insertBatch = db.transaction((count: number) => {
    for (let index = 0; index < count; index++) {
      const roomId = load.roomIds[messages % load.roomIds.length];
      const clientMsgId = `bare-${randomUUID()}`;
      if (!statements.isMember.get(roomId, load.senderId)) {
        throw new Error('the bench user is not a member of the room');
      }
      statements.existing.get(roomId, load.senderId, clientMsgId);
      const { lastSeq } = statements.bumpSeq.get(roomId) as { lastSeq: number };
      const createdAt = new Date().toISOString().replace('T', ' ').replace('Z', '');
      statements.insert.run(
        randomUUID(),
        roomId,
        lastSeq,
        load.senderId,
        `bench message ${clientMsgId}`,
        clientMsgId,
        createdAt,
      );
      statements.readOwn.run(lastSeq, roomId, load.senderId, lastSeq);
      messages++;
    }
  });
  const transactionMs: number[] = [];
  const startedAt = performance.now();
  const deadline = startedAt + load.seconds * 1000;
  while (performance.now() < deadline && messages < MAX_MESSAGES_PER_RUN) {
    const before = performance.now();
    insertBatch.immediate(perTransaction);
    transactionMs.push(performance.now() - before);
  }
  return {
    messages,
    seconds: (performance.now() - startedAt) / 1000,
    transactionP50Ms: median(transactionMs),
  };
}

serveRunner({ open, run });
