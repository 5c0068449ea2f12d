import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource, LessThan } from 'typeorm';
import { loadConfig } from '@config';
import { AuthSession } from '@app/auth/auth-session.entity';
import { dataSourceOptions } from '@app/database/data-source-options';
import { runMigrations } from '@app/database/run-migrations';
import { createTestDatabase, TestDatabase } from '@test/support/test-database';

/**
 * The pruner looks for expired logins by `expiresAt` every few minutes on every instance: on a
 * migrated database that look-up is an index search, not a scan of every login ever kept.
 */
describe('auth_sessions pruning look-up', () => {
  let database: TestDatabase;
  let dataDirectory: string;
  let dataSource: DataSource;

  beforeAll(async () => {
    database = await createTestDatabase();
    dataDirectory = mkdtempSync(join(tmpdir(), 'switchboard-pruning-index-'));
    const config = loadConfig({ DATA_DIR: dataDirectory, DATABASE_URL: database.url });
    dataSource = await new DataSource(dataSourceOptions(config.database)).initialize();
    await runMigrations(dataSource);
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await database?.drop();
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  /** The plan of the pruner's query (the one `deleteExpired` runs), as text. */
  async function planOfExpiredLookup(): Promise<string> {
    const [sql, parameters] = dataSource
      .getRepository(AuthSession)
      .createQueryBuilder('session')
      .select('session.id')
      .where({ expiresAt: LessThan(new Date()) })
      .limit(500)
      .getQueryAndParameters();
    if (dataSource.options.type === 'postgres') {
      // An empty table is cheapest to scan: forbid scans so that an index is used if one exists.
      const queryRunner = dataSource.createQueryRunner();
      try {
        await queryRunner.query('SET enable_seqscan = off');
        const rows = (await queryRunner.query(`EXPLAIN ${sql}`, parameters)) as {
          'QUERY PLAN': string;
        }[];
        return rows.map((row) => row['QUERY PLAN']).join('\n');
      } finally {
        await queryRunner.query('RESET enable_seqscan');
        await queryRunner.release();
      }
    }
    const rows = await dataSource.query<{ detail: string }[]>(
      `EXPLAIN QUERY PLAN ${sql}`,
      parameters,
    );
    return rows.map((row) => row.detail).join('\n');
  }

  it('searches an index on expiresAt', async () => {
    const plan = await planOfExpiredLookup();

    expect(plan).toMatch(/Index|USING (COVERING )?INDEX/);
    expect(plan).not.toMatch(/Seq Scan|^SCAN /m);
  });

  it('positive control: a look-up by a column without an index scans', async () => {
    const plan = (
      await (dataSource.options.type === 'postgres'
        ? dataSource.query<{ 'QUERY PLAN': string }[]>(
            'EXPLAIN SELECT "id" FROM "auth_sessions" WHERE "refreshTokenHash" = $1',
            ['x'],
          )
        : dataSource.query<{ detail: string }[]>(
            'EXPLAIN QUERY PLAN SELECT "id" FROM "auth_sessions" WHERE "refreshTokenHash" = ?',
            ['x'],
          ))
    )
      .map((row) => ('detail' in row ? row.detail : row['QUERY PLAN']))
      .join('\n');

    expect(plan).toMatch(/Seq Scan|^SCAN /m);
  });
});
