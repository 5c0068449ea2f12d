import type { Database, Statement } from 'better-sqlite3';
import { GroupCommit, GroupCommitObserver, settle, Settled } from './group-commit';

/** Prepares `sql` once per connection and returns the kept statement. */
export type SqliteStatements = (sql: string) => Statement;

type SqliteJob =
  | { kind: 'transaction'; work: (statements: SqliteStatements) => unknown }
  | { kind: 'exclusive'; work: () => Promise<unknown> };

/** Enough to share one fsync among the writes of a busy moment, small enough to keep p99 low. */
const MAX_BATCH = 256;

/**
 * The one writer of the process on SQLite. TypeORM hands every caller the same connection, so a
 * TypeORM transaction there would take in other requests' statements and could roll them back.
 * Every write goes through this queue instead, one job at a time:
 * - `transaction` jobs are synchronous; the ones queued together share one BEGIN IMMEDIATE …
 *   COMMIT (group commit: one fsync), each in a savepoint of its own, so that one that throws
 *   undoes only its own statements and fails only its own caller;
 * - `exclusive` jobs (single TypeORM statements) run alone, with no other write beside them.
 * Other processes on the same file wait for the write lock (busy_timeout).
 */
export class SqliteWriter {
  private readonly statements = new Map<string, Statement>();
  private readonly prepared: SqliteStatements = (sql) => {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.database.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  };
  private readonly jobs: GroupCommit<SqliteJob, unknown>;

  constructor(
    private readonly database: Database,
    observer?: GroupCommitObserver,
  ) {
    this.jobs = new GroupCommit((batch) => this.runBatch(batch), {
      maxBatch: MAX_BATCH,
      maxInFlight: 1,
      observer,
    });
  }

  /** Synchronous `work` in the group's transaction; resolves after that transaction commits. */
  transaction<T>(work: (statements: SqliteStatements) => T): Promise<T> {
    return this.jobs.submit({ kind: 'transaction', work }) as Promise<T>;
  }

  /** Rows of a read, through a kept prepared statement. */
  read<T>(sql: string, parameters: readonly unknown[]): T[] {
    return this.prepared(sql).all(...parameters) as T[];
  }

  /** Asynchronous `work` (TypeORM statements, no transaction of their own) with no other write. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.jobs.submit({ kind: 'exclusive', work }) as Promise<T>;
  }

  private async runBatch(batch: SqliteJob[]): Promise<Settled<unknown>[]> {
    const results: Settled<unknown>[] = [];
    let group: ((statements: SqliteStatements) => unknown)[] = [];
    const commitGroup = () => {
      if (group.length > 0) {
        results.push(...this.commitGroup(group));
        group = [];
      }
    };
    for (const job of batch) {
      if (job.kind === 'transaction') {
        group.push(job.work);
      } else {
        commitGroup();
        results.push(await settle(job.work));
      }
    }
    commitGroup();
    return results;
  }

  /**
   * One BEGIN IMMEDIATE … COMMIT; better-sqlite3 nests each job's transaction as a savepoint.
   * On some errors (SQLITE_FULL, I/O errors, RAISE(ROLLBACK)) SQLite rolls the whole transaction
   * back by itself: then nothing of the group is stored, so every job of it fails, and none after
   * that one runs (it would autocommit on its own).
   */
  private commitGroup(works: ((statements: SqliteStatements) => unknown)[]): Settled<unknown>[] {
    const group = this.database.transaction(() =>
      works.map((work): Settled<unknown> => {
        try {
          return { ok: true, value: this.database.transaction(work)(this.prepared) };
        } catch (error) {
          if (!this.database.inTransaction) {
            throw new GroupRolledBack('SQLite rolled the group transaction back', { cause: error });
          }
          return { ok: false, error };
        }
      }),
    );
    try {
      return group.immediate();
    } catch (error) {
      // The group was rolled back, its commit failed or the write lock never came: nothing of
      // the group is stored.
      const cause = error instanceof GroupRolledBack ? error.cause : error;
      return works.map(() => ({ ok: false, error: cause }));
    }
  }
}

/** SQLite ended the group's transaction by itself: `cause` is the error that made it. */
class GroupRolledBack extends Error {}

/** A Date as TypeORM stores it in a SQLite `datetime` column: UTC `YYYY-MM-DD HH:MM:SS.SSS`. */
export function toSqliteDatetime(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

/** The inverse of `toSqliteDatetime`. */
export function fromSqliteDatetime(value: string): Date {
  return new Date(`${value.replace(' ', 'T')}Z`);
}
