import { MigrationInterface, QueryRunner, Table, TableForeignKey, TableIndex } from 'typeorm';
import { columnTypes } from './column-types';

export class CreateUsersAndAuthSessions1764100000000 implements MigrationInterface {
  name = 'CreateUsersAndAuthSessions1764100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const types = columnTypes(queryRunner);
    const uuidPrimaryKey = {
      name: 'id',
      type: types.uuid,
      isPrimary: true,
      isGenerated: true,
      generationStrategy: 'uuid' as const,
    };
    const createdAt = { name: 'createdAt', type: types.timestamp, default: types.now };

    await queryRunner.createTable(
      new Table({
        name: 'users',
        columns: [
          uuidPrimaryKey,
          { name: 'username', type: 'varchar', length: '32' },
          { name: 'usernameKey', type: 'varchar', length: '32', isUnique: true },
          { name: 'displayName', type: 'varchar', length: '64' },
          { name: 'passwordHash', type: 'varchar', length: '255' },
          createdAt,
          { name: 'updatedAt', type: types.timestamp, default: types.now },
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'auth_sessions',
        columns: [
          uuidPrimaryKey,
          { name: 'userId', type: types.uuid },
          { name: 'refreshTokenHash', type: 'varchar', length: '64' },
          { name: 'expiresAt', type: types.timestamp },
          { name: 'revokedAt', type: types.timestamp, isNullable: true },
          createdAt,
        ],
        indices: [new TableIndex({ columnNames: ['userId'] })],
        foreignKeys: [
          new TableForeignKey({
            columnNames: ['userId'],
            referencedTableName: 'users',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('auth_sessions');
    await queryRunner.dropTable('users');
  }
}
