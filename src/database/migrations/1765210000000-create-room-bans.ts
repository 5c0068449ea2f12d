import { MigrationInterface, QueryRunner, Table, TableForeignKey, TableIndex } from 'typeorm';
import { columnTypes } from './column-types';

/** `room_bans`: who may not join a room (again) until its owner lifts the ban. */
export class CreateRoomBans1765210000000 implements MigrationInterface {
  name = 'CreateRoomBans1765210000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const types = columnTypes(queryRunner);
    const references = (columnName: string, referencedTableName: string) =>
      new TableForeignKey({
        columnNames: [columnName],
        referencedTableName,
        referencedColumnNames: ['id'],
        onDelete: 'CASCADE',
      });
    await queryRunner.createTable(
      new Table({
        name: 'room_bans',
        columns: [
          { name: 'roomId', type: types.uuid, isPrimary: true },
          { name: 'userId', type: types.uuid, isPrimary: true },
          { name: 'bannedAt', type: types.timestamp },
        ],
        indices: [
          new TableIndex({ columnNames: ['userId'] }),
          new TableIndex({ columnNames: ['roomId', 'bannedAt', 'userId'] }),
        ],
        foreignKeys: [references('roomId', 'rooms'), references('userId', 'users')],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('room_bans');
  }
}
