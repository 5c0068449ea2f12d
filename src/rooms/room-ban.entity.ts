import { Column, Entity, Index, ManyToOne, PrimaryColumn } from 'typeorm';
import { User } from '@app/users/user.entity';
import { Room } from './room.entity';

/**
 * A user the room's owner banned: no member, and cannot join or be added until the ban is
 * lifted. The primary key (roomId, userId) serves the check a join makes.
 */
@Entity('room_bans')
@Index(['roomId', 'bannedAt', 'userId'])
export class RoomBan {
  @PrimaryColumn({ type: 'uuid' })
  roomId: string;

  @ManyToOne(() => Room, { onDelete: 'CASCADE' })
  room?: Room;

  /** Indexed on its own: deleting a user finds their bans by it. */
  @Index()
  @PrimaryColumn({ type: 'uuid' })
  userId: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  user?: User;

  @Column({ type: Date })
  bannedAt: Date;
}
