import type { RoomEventKind } from '@libs/protocol';
import { Column, Entity, Index, ManyToOne, PrimaryColumn } from 'typeorm';
import { bigintNumber } from '@app/database/bigint-number.transformer';
import { Room } from '@app/rooms/room.entity';
import { User } from '@app/users/user.entity';

/**
 * One message of a room. The database itself holds the guarantees: `(roomId, seq)` is unique
 * (no repeat; it also serves history reads by seq) and so is `(roomId, senderId, clientMsgId)`
 * (one row per retried send or edit; rows without a clientMsgId never collide, NULLs being
 * distinct). Edits and deletes are rows too (`kind`), each with its own seq, that refer to the
 * message they change (`messageId`).
 */
@Entity('messages')
@Index(['roomId', 'seq'], { unique: true })
@Index(['roomId', 'senderId', 'clientMsgId'], { unique: true })
export class Message {
  @PrimaryColumn({ type: 'uuid' })
  id: string;

  @Column({ type: 'uuid' })
  roomId: string;

  @ManyToOne(() => Room, { onDelete: 'CASCADE' })
  room?: Room;

  /** 1, 2, 3 … within the room, with no gap and no repeat. */
  @Column({ type: 'bigint', transformer: bigintNumber })
  seq: number;

  @Column({ type: 'uuid' })
  senderId: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  sender?: User;

  @Column({ type: 'text' })
  body: string;

  @Column({ type: 'varchar', length: 64, nullable: true })
  clientMsgId: string | null;

  /** Set by the application, with milliseconds, when the send is accepted. */
  @Column({ type: Date })
  createdAt: Date;

  @Column({ type: 'varchar', length: 8, default: 'message' })
  kind: RoomEventKind;

  /** The message an edit or delete changes; null for a message. */
  @Index()
  @Column({ type: 'uuid', nullable: true })
  messageId: string | null;

  /** A message's last edit. */
  @Column({ type: Date, nullable: true })
  editedAt: Date | null;

  /** When a message was deleted; its body is erased then. */
  @Column({ type: Date, nullable: true })
  deletedAt: Date | null;
}
