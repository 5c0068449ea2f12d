import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Database } from 'better-sqlite3';
import { DataSource } from 'typeorm';

/** How long a write waits for a transaction TypeORM left open on the shared connection. */
const OPEN_TRANSACTION_WAIT_MS = 5000;

/**
 * Runs `work` in one `BEGIN IMMEDIATE` transaction on the better-sqlite3 connection, committing
 * when it returns and rolling back when it throws.
 *
 * TypeORM shares that one connection between every caller of the process, so its async
 * transactions could interleave with other requests' statements. `work` runs synchronously
 * instead: nothing else in this process can run between its statements, and other processes
 * on the same file wait for the write lock (busy_timeout) before it starts.
 */
export async function runSqliteWriteTransaction<T>(
  dataSource: DataSource,
  work: (database: Database) => T,
): Promise<T> {
  const database = (dataSource.driver as unknown as { databaseConnection: Database })
    .databaseConnection;
  // A transaction of TypeORM's own (e.g. `save()`) may be open between two of its awaits: nesting
  // in it would make our commit depend on its outcome, so let it finish first.
  const deadline = Date.now() + OPEN_TRANSACTION_WAIT_MS;
  while (database.inTransaction) {
    if (Date.now() > deadline) {
      throw new Error('SQLite connection stayed inside a transaction too long');
    }
    await nextTurn();
  }
  return database.transaction(work).immediate(database);
}

/** A Date as TypeORM stores it in a SQLite `datetime` column: UTC `YYYY-MM-DD HH:MM:SS.SSS`. */
export function toSqliteDatetime(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '');
}
