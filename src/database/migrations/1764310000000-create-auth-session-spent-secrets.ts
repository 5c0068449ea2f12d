import { MigrationInterface, QueryRunner, Table, TableForeignKey, TableIndex } from 'typeorm';
import { columnTypes } from './column-types';

export class CreateAuthSessionSpentSecrets1764310000000 implements MigrationInterface {
  name = 'CreateAuthSessionSpentSecrets1764310000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const types = columnTypes(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'auth_session_spent_secrets',
        columns: [
          { name: 'secretHash', type: 'varchar', length: '64', isPrimary: true },
          { name: 'sessionId', type: types.uuid },
        ],
        indices: [new TableIndex({ columnNames: ['sessionId'] })],
        foreignKeys: [
          new TableForeignKey({
            columnNames: ['sessionId'],
            referencedTableName: 'auth_sessions',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('auth_session_spent_secrets');
  }
}
