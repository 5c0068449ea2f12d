import { Client } from 'pg';
import request from 'supertest';
import { DataSource } from 'typeorm';
import {
  createTestDatabase,
  requireTestDatabaseUrl,
  TestDatabase,
} from '@test/support/test-database';
import { startTestApp, TestApp } from '@test/support/test-app';
import { waitUntil } from '@test/support/wait-until';

const POOL_SIZE = 3;
const SLOW_QUERIES = POOL_SIZE * 3;
const SLOW_QUERY = 'SELECT pg_sleep(2)';

/**
 * Readiness on PostgreSQL tells a busy pool from a dead database: with every pooled connection
 * held by slow application queries it still answers 200 (the database is up, and busy), while a
 * database that refuses connections reads as down, and as up again once it accepts them.
 */
describe('readiness with a busy database pool (services)', () => {
  let database: TestDatabase;
  let testApp: TestApp;
  let admin: Client;
  let databaseName: string;

  beforeAll(async () => {
    const serverUrl = requireTestDatabaseUrl();
    database = await createTestDatabase();
    databaseName = new URL(database.url).pathname.slice(1);
    testApp = await startTestApp({
      database,
      environment: {
        DATABASE_POOL_SIZE: String(POOL_SIZE),
        // Not about overload: a busy machine must not shed the probe.
        SHED_MAX_EVENT_LOOP_DELAY_MS: '0',
      },
    });
    admin = new Client({ connectionString: serverUrl });
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.query(`ALTER DATABASE ${databaseName} WITH ALLOW_CONNECTIONS true`);
    await admin?.end();
    await testApp?.close();
    await database?.drop();
  });

  const readiness = () => request(testApp.server).get('/health/ready');

  /** Application queries running `SELECT pg_sleep` in the suite's database, seen by the server. */
  async function sleepingQueries(): Promise<number> {
    const { rows } = await admin.query<{ count: string }>(
      `SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND query = $2 AND state = 'active'`,
      [databaseName, SLOW_QUERY],
    );
    return Number(rows[0].count);
  }

  it('answers 200, the database up and busy, while slow queries hold every pooled connection', async () => {
    const dataSource = testApp.app.get(DataSource);
    const slow = Array.from({ length: SLOW_QUERIES }, () => dataSource.query(SLOW_QUERY));
    try {
      await waitUntil(
        async () => (await sleepingQueries()) === POOL_SIZE,
        5_000,
        'the pool to be saturated',
      );

      const response = await readiness();
      expect(response.status).toBe(200);
      expect(response.body.details.database).toEqual({ status: 'up', busy: true });
      // Still saturated when it answered: the probe did not wait for a pooled connection.
      expect(await sleepingQueries()).toBe(POOL_SIZE);
    } finally {
      await Promise.allSettled(slow);
    }
    const idle = await readiness().expect(200);
    expect(idle.body.details.database).toEqual({ status: 'up', busy: false });
  });

  it('reads as down while the database refuses connections, and up once it accepts them', async () => {
    await readiness().expect(200);

    await admin.query(`ALTER DATABASE ${databaseName} WITH ALLOW_CONNECTIONS false`);
    await admin.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [databaseName],
    );
    await waitUntil(
      async () => (await readiness()).status === 503,
      5_000,
      'readiness to report the database down',
    );
    const down = await readiness().expect(503);
    expect(down.body).toMatchObject({ status: 'error', error: { database: { status: 'down' } } });

    await admin.query(`ALTER DATABASE ${databaseName} WITH ALLOW_CONNECTIONS true`);
    await waitUntil(
      async () => (await readiness()).status === 200,
      5_000,
      'readiness to report the database up again',
    );
  });
});
