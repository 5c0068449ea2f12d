import { MigrationInterface, QueryRunner, TableColumn, TableIndex } from 'typeorm';
import { columnTypes } from './column-types';

/**
 * Read state and edits and deletes as entries of a room's sequence:
 * - `room_members.lastReadSeq`: how far the member has read (unread = the room's lastSeq − it);
 * - `messages.kind`: `message`, `edit` or `delete`; an edit or delete refers to `messageId`;
 *   a message carries its last edit's time and its deletion's (its body then erased).
 */
export class AddReadStateAndRoomEvents1765200000000 implements MigrationInterface {
  name = 'AddReadStateAndRoomEvents1765200000000';

  private readonly messageIdIndex = new TableIndex({ columnNames: ['messageId'] });

  async up(queryRunner: QueryRunner): Promise<void> {
    const types = columnTypes(queryRunner);
    await queryRunner.addColumn(
      'room_members',
      new TableColumn({ name: 'lastReadSeq', type: 'bigint', default: 0 }),
    );
    await queryRunner.addColumns('messages', [
      new TableColumn({ name: 'kind', type: 'varchar', length: '8', default: "'message'" }),
      new TableColumn({ name: 'messageId', type: types.uuid, isNullable: true }),
      new TableColumn({ name: 'editedAt', type: types.timestamp, isNullable: true }),
      new TableColumn({ name: 'deletedAt', type: types.timestamp, isNullable: true }),
    ]);
    // Finds a message's edits (to erase them with it) and its delete event (a repeated delete).
    await queryRunner.createIndex('messages', this.messageIdIndex);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('messages', this.messageIdIndex);
    for (const column of ['deletedAt', 'editedAt', 'messageId', 'kind']) {
      await queryRunner.dropColumn('messages', column);
    }
    await queryRunner.dropColumn('room_members', 'lastReadSeq');
  }
}
