import { QueryRunner } from 'typeorm';

/**
 * Column types and defaults that differ between SQLite and PostgreSQL, read from the driver so
 * that one migration serves both and produces exactly what the entities declare.
 * Migrations depend on this: change it only in ways that keep old migrations' output the same.
 */
export function columnTypes(queryRunner: QueryRunner) {
  const driver = queryRunner.connection.driver;
  return {
    timestamp: driver.normalizeType({ type: Date }),
    now: driver.mappedDataTypes.createDateDefault,
    uuid: driver.normalizeType({ type: 'uuid' }),
  };
}
