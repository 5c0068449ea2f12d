import { MigrationInterface, QueryRunner, TableIndex } from 'typeorm';

/** The pruner looks expired logins up by `expiresAt`: an index search instead of a table scan. */
export class IndexAuthSessionsExpiresAt1765100000000 implements MigrationInterface {
  name = 'IndexAuthSessionsExpiresAt1765100000000';

  private readonly index = new TableIndex({ columnNames: ['expiresAt'] });

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createIndex('auth_sessions', this.index);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('auth_sessions', this.index);
  }
}
