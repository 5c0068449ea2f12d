import { MigrationInterface, QueryRunner, Table, TableForeignKey, TableIndex } from 'typeorm';
import { columnTypes } from './column-types';

export class CreateRoomsAndMessages1764200000000 implements MigrationInterface {
  name = 'CreateRoomsAndMessages1764200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const types = columnTypes(queryRunner);
    const uuidPrimaryKey = { name: 'id', type: types.uuid, isPrimary: true };
    const references = (
      columnName: string,
      referencedTableName: string,
      onDelete: 'CASCADE' | 'SET NULL',
    ) =>
      new TableForeignKey({
        columnNames: [columnName],
        referencedTableName,
        referencedColumnNames: ['id'],
        onDelete,
      });

    await queryRunner.createTable(
      new Table({
        name: 'rooms',
        columns: [
          uuidPrimaryKey,
          { name: 'name', type: 'varchar', length: '100', isNullable: true },
          { name: 'visibility', type: 'varchar', length: '16' },
          { name: 'ownerId', type: types.uuid, isNullable: true },
          { name: 'directKey', type: 'varchar', length: '73', isNullable: true, isUnique: true },
          { name: 'lastSeq', type: 'bigint', default: 0 },
          { name: 'createdAt', type: types.timestamp },
        ],
        indices: [new TableIndex({ columnNames: ['createdAt', 'id'] })],
        foreignKeys: [references('ownerId', 'users', 'SET NULL')],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'room_members',
        columns: [
          { name: 'roomId', type: types.uuid, isPrimary: true },
          { name: 'userId', type: types.uuid, isPrimary: true },
          { name: 'joinedAt', type: types.timestamp },
        ],
        indices: [
          new TableIndex({ columnNames: ['userId'] }),
          new TableIndex({ columnNames: ['roomId', 'joinedAt', 'userId'] }),
        ],
        foreignKeys: [
          references('roomId', 'rooms', 'CASCADE'),
          references('userId', 'users', 'CASCADE'),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'messages',
        columns: [
          uuidPrimaryKey,
          { name: 'roomId', type: types.uuid },
          { name: 'seq', type: 'bigint' },
          { name: 'senderId', type: types.uuid },
          { name: 'body', type: 'text' },
          { name: 'clientMsgId', type: 'varchar', length: '64', isNullable: true },
          { name: 'createdAt', type: types.timestamp },
        ],
        indices: [
          new TableIndex({ columnNames: ['roomId', 'seq'], isUnique: true }),
          new TableIndex({ columnNames: ['roomId', 'senderId', 'clientMsgId'], isUnique: true }),
        ],
        foreignKeys: [
          references('roomId', 'rooms', 'CASCADE'),
          references('senderId', 'users', 'CASCADE'),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('messages');
    await queryRunner.dropTable('room_members');
    await queryRunner.dropTable('rooms');
  }
}
