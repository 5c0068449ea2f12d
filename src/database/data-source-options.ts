import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Database } from 'better-sqlite3';
import { DataSourceOptions } from 'typeorm';
import { AppConfig } from '@config';
import { ENTITIES, MIGRATIONS } from './entities';
import { storeTimestampsAsUtc, UTC_SESSION_OPTIONS } from './postgres-utc';

/** SQLite waits this long for another writer's lock before it reports SQLITE_BUSY. */
const SQLITE_BUSY_TIMEOUT_MS = 5000;

/**
 * The TypeORM options for the configured database. Migrations are run by `runMigrations`, never
 * by `synchronize`.
 */
export function dataSourceOptions(database: AppConfig['database']): DataSourceOptions {
  const common = {
    entities: ENTITIES,
    migrations: MIGRATIONS,
    synchronize: false,
    migrationsRun: false,
  };
  if (database.type === 'postgres') {
    storeTimestampsAsUtc();
    return {
      ...common,
      type: 'postgres',
      url: database.url,
      extra: { max: database.poolSize, options: UTC_SESSION_OPTIONS },
    };
  }
  mkdirSync(dirname(database.path), { recursive: true });
  createOwnerOnly(database.path);
  return {
    ...common,
    type: 'better-sqlite3',
    database: database.path,
    timeout: SQLITE_BUSY_TIMEOUT_MS,
    prepareDatabase: (db: Database) => {
      // WAL lets readers run beside the one writer; synchronous=FULL makes each commit durable
      // on disk before it returns, which is what an acknowledgement promises (PRODUCT.md, 1).
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      // A deleted message's text is erased, not hidden: freed space is overwritten with zeros.
      db.pragma('secure_delete = ON');
    },
  };
}

/**
 * The SQLite file holds password hashes: owner-only (0600), created so before SQLite opens it,
 * and tightened if an older version made it 0644. SQLite gives its -wal and -shm files the mode
 * of the database file.
 */
function createOwnerOnly(path: string): void {
  closeSync(openSync(path, 'a', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      chmodSync(file, 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw error;
      }
    }
  }
}
