import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/**
 * The database of one test suite. On the embedded defaults it is a SQLite file in the suite's
 * own data directory. Under `npm run test:services`, TEST_DATABASE_URL names a PostgreSQL server:
 * each suite then gets a database of its own, created here and dropped by `drop()`.
 */
export interface TestDatabase {
  /** The DATABASE_URL for the server under test; empty means SQLite. */
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) {
    return { url: '', drop: async () => {} };
  }
  const name = `switchboard_test_${randomBytes(6).toString('hex')}`;
  await withAdminClient(serverUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () =>
      withAdminClient(serverUrl, (client) =>
        client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
      ),
  };
}

async function withAdminClient(serverUrl: string, work: (client: Client) => Promise<unknown>) {
  const databaseName = new URL(serverUrl).pathname.slice(1);
  if (!databaseName.includes('test')) {
    throw new Error(`Refusing to use ${databaseName}: a test database's name must say "test"`);
  }
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await work(client);
  } finally {
    await client.end();
  }
}

/** The PostgreSQL server of `npm run test:services`; throws elsewhere, so a service suite cannot skip. */
export function requireTestDatabaseUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) {
    throw new Error('TEST_DATABASE_URL is not set: run this suite with `npm run test:services`');
  }
  return url;
}

/** True in `npm run test:services`: the suites run on PostgreSQL rather than SQLite. */
export function onTestPostgres(): boolean {
  return Boolean(process.env.TEST_DATABASE_URL);
}

/**
 * For a runner outside `npm run test:services` (the scale suite): the PostgreSQL server that
 * `createTestDatabase` makes its databases on, picked as run-services.js picks it (DATABASE_URL,
 * else the local default) unless TEST_DATABASE_URL already names one.
 */
export function useTestPostgresServer(): string {
  process.env.TEST_DATABASE_URL ??=
    process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
  return process.env.TEST_DATABASE_URL;
}
