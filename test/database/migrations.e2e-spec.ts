import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { loadConfig } from '@config';
import { dataSourceOptions } from '@app/database/data-source-options';
import { runMigrations } from '@app/database/run-migrations';
import { createTestDatabase, TestDatabase } from '@test/support/test-database';

describe('migrations', () => {
  let database: TestDatabase;
  let dataDirectory: string;
  let dataSource: DataSource;

  beforeAll(async () => {
    database = await createTestDatabase();
    dataDirectory = mkdtempSync(join(tmpdir(), 'switchboard-migrations-'));
    const config = loadConfig({ DATA_DIR: dataDirectory, DATABASE_URL: database.url });
    dataSource = await new DataSource(dataSourceOptions(config.database)).initialize();
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await database?.drop();
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  it('migrating an empty database gives exactly the schema the entities declare', async () => {
    await runMigrations(dataSource);

    const pending = await dataSource.driver.createSchemaBuilder().log();

    expect(pending.upQueries.map((query) => query.query)).toEqual([]);
  });

  it('running the migrations again changes nothing', async () => {
    await runMigrations(dataSource);

    expect(await dataSource.showMigrations()).toBe(false);
  });

  it('every migration can be reverted, leaving an empty schema', async () => {
    for (let i = 0; i < dataSource.migrations.length; i++) {
      await dataSource.undoLastMigration();
    }
    const queryRunner = dataSource.createQueryRunner();
    try {
      const tableNames = dataSource.entityMetadatas.map((entity) => entity.tableName);
      const remaining = [];
      for (const name of tableNames) {
        if (await queryRunner.hasTable(name)) {
          remaining.push(name);
        }
      }
      expect(remaining).toEqual([]);
    } finally {
      await queryRunner.release();
    }
  });
});
