import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Database } from 'better-sqlite3';
import { DataSource, EntityManager } from 'typeorm';
import { CommitMetrics } from './commit-metrics';
import { GroupCommitObserver } from './group-commit';
import { SqliteStatements, SqliteWriter } from './sqlite-writer';
import { retryTransient } from './transient-retry';

/**
 * Where every write of the process goes. On SQLite it is the one serialized writer (see
 * SqliteWriter); on PostgreSQL each write has a pooled connection of its own and runs again
 * after a deadlock or serialization failure (see retryTransient).
 */
@Injectable()
export class DatabaseWriter {
  /** Null on PostgreSQL. */
  readonly sqlite: SqliteWriter | null;
  /** For every group commit of the process (the PostgreSQL appenders' too): the commit metrics. */
  readonly commitObserver: GroupCommitObserver;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    commitMetrics: CommitMetrics,
  ) {
    this.commitObserver = commitMetrics.observer;
    this.sqlite =
      dataSource.options.type === 'better-sqlite3'
        ? new SqliteWriter(
            (dataSource.driver as unknown as { databaseConnection: Database }).databaseConnection,
            this.commitObserver,
          )
        : null;
  }

  /**
   * A write made of TypeORM statements. They must not open a transaction (`save()` needs
   * `{ transaction: false }`): on SQLite it would be on the connection every request shares.
   * On PostgreSQL each statement commits by itself and `work` may run again after a transient
   * failure: statements before the failing one must be harmless to repeat.
   */
  run<T>(work: () => Promise<T>): Promise<T> {
    return this.sqlite ? this.sqlite.exclusive(work) : retryTransient(work);
  }

  /** PostgreSQL only: `work` in one transaction, all of it run again after a transient failure. */
  postgresTransaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (this.sqlite) {
      throw new Error('postgresTransaction on SQLite: use sqliteTransaction');
    }
    return retryTransient(() => this.dataSource.transaction(work));
  }

  /**
   * A read of rows by SQL with `?` placeholders, without TypeORM's query building and entity
   * hydration (which cost more than the query): on SQLite a kept prepared statement on the
   * writer's connection, synchronous, between the writer's transactions, which never stay open
   * across turns of the event loop; on PostgreSQL a pooled query with `$n` placeholders.
   */
  async read<T>(sql: string, parameters: readonly unknown[]): Promise<T[]> {
    if (this.sqlite) {
      return this.sqlite.read<T>(sql, parameters);
    }
    return this.dataSource.query<T[]>(toPostgresPlaceholders(sql), parameters as unknown[]);
  }

  /** SQLite only: synchronous statements in one transaction of the writer, committed as a group. */
  sqliteTransaction<T>(work: (statements: SqliteStatements) => T): Promise<T> {
    if (!this.sqlite) {
      throw new Error('sqliteTransaction on a database that is not SQLite');
    }
    return this.sqlite.transaction(work);
  }
}

/** SQL written with `?` placeholders (SQLite's) numbered for PostgreSQL: `$1`, `$2`, … */
export function toPostgresPlaceholders(sql: string): string {
  let index = 0;
  return sql.replace(/\?/g, () => `$${++index}`);
}
