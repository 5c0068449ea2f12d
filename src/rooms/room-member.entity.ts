import { Column, Entity, Index, ManyToOne, PrimaryColumn } from 'typeorm';
import { bigintNumber } from '@app/database/bigint-number.transformer';
import { User } from '@app/users/user.entity';
import { Room } from './room.entity';

/** A user's membership of a room. The primary key (roomId, userId) serves membership checks. */
@Entity('room_members')
@Index(['roomId', 'joinedAt', 'userId'])
export class RoomMember {
  @PrimaryColumn({ type: 'uuid' })
  roomId: string;

  @ManyToOne(() => Room, { onDelete: 'CASCADE' })
  room?: Room;

  /** Indexed on its own for "the rooms of this user". */
  @Index()
  @PrimaryColumn({ type: 'uuid' })
  userId: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  user?: User;

  @Column({ type: Date })
  joinedAt: Date;

  /** How far the member has read: only moves forward; their own entries move it too. */
  @Column({ type: 'bigint', default: 0, transformer: bigintNumber })
  lastReadSeq: number;
}
