import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { median } from '@bench/support/statistics';
import { serveRunner } from '@bench/support/worker-protocol';
import {
  InsertLoad,
  InsertLoopResult,
  MAX_MESSAGES_PER_RUN,
  POSTGRES_STATEMENTS,
} from './message-insert-statements';

/**
 * The PostgreSQL write baseline: one `pg` client in one loop, the same transaction per message as
 * the server (BEGIN; UPDATE rooms … RETURNING with the membership check; look-up by clientMsgId;
 * INSERT; COMMIT), on the server's own database while the server is idle.
 */
let client: Client | undefined;

async function open(options: { connectionString: string }): Promise<void> {
  client = new Client({ connectionString: options.connectionString });
  await client.connect();
}

async function run(load: InsertLoad): Promise<InsertLoopResult> {
  if (!client) {
    throw new Error('open the database first');
  }
  const db = client;
  const transactionMs: number[] = [];
  let messages = 0;
  const startedAt = performance.now();
  const deadline = startedAt + load.seconds * 1000;
  while (performance.now() < deadline && messages < MAX_MESSAGES_PER_RUN) {
    const roomId = load.roomIds[messages % load.roomIds.length];
    const clientMsgId = `bare-${randomUUID()}`;
    const before = performance.now();
    await db.query('BEGIN');
    const bumped = await db.query<{ lastSeq: string }>(POSTGRES_STATEMENTS.bumpSeqIfMember, [
      roomId,
      load.senderId,
    ]);
    if (!bumped.rows[0]) {
      await db.query('ROLLBACK');
      throw new Error('the bench user is not a member of the room');
    }
    await db.query(POSTGRES_STATEMENTS.existing, [roomId, load.senderId, clientMsgId]);
    await db.query(POSTGRES_STATEMENTS.insert, [
      randomUUID(),
      roomId,
      bumped.rows[0].lastSeq,
      load.senderId,
      `bench message ${clientMsgId}`,
      clientMsgId,
      new Date(),
    ]);
    await db.query(POSTGRES_STATEMENTS.readOwn, [roomId, load.senderId, bumped.rows[0].lastSeq]);
    await db.query('COMMIT');
    transactionMs.push(performance.now() - before);
    messages++;
  }
  return {
    messages,
    seconds: (performance.now() - startedAt) / 1000,
    transactionP50Ms: median(transactionMs),
  };
}

serveRunner({ open, run, close: () => client?.end() });
