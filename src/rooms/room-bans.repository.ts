import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Brackets, Repository } from 'typeorm';
import { DatabaseWriter } from '@app/database/database-writer';
import { isForeignKeyViolation } from '@app/database/unique-violation';
import { RoomBan } from './room-ban.entity';

/** Where a page of a room's bans starts: after this ban. */
export interface BanListPosition {
  bannedAt: Date;
  userId: string;
}

/** The bans of rooms. Writes go through DatabaseWriter (one writer at a time on SQLite). */
@Injectable()
export class RoomBansRepository {
  constructor(
    @InjectRepository(RoomBan) private readonly bans: Repository<RoomBan>,
    private readonly writer: DatabaseWriter,
  ) {}

  /**
   * Records the ban unless there is one already (which keeps its `bannedAt`). False when the
   * room or the user no longer exists (nothing is recorded then).
   */
  async insertUnlessPresent(ban: RoomBan): Promise<boolean> {
    try {
      await this.writer.run(() =>
        this.bans
          .createQueryBuilder()
          .insert()
          .values({ ...ban })
          .orIgnore()
          .execute(),
      );
      return true;
    } catch (error) {
      if (isForeignKeyViolation(error)) {
        return false;
      }
      throw error;
    }
  }

  async delete(roomId: string, userId: string): Promise<void> {
    await this.writer.run(() => this.bans.delete({ roomId, userId }));
  }

  /** One primary key lookup. */
  isBanned(roomId: string, userId: string): Promise<boolean> {
    return this.bans.existsBy({ roomId, userId });
  }

  /** A room's bans, oldest first, `limit + 1` of them. */
  list(roomId: string, after: BanListPosition | null, limit: number): Promise<RoomBan[]> {
    const query = this.bans.createQueryBuilder('ban').where('ban.roomId = :roomId', { roomId });
    if (after) {
      query.andWhere(
        new Brackets((later) =>
          later
            .where('ban.bannedAt > :afterBannedAt', { afterBannedAt: after.bannedAt })
            .orWhere('ban.bannedAt = :afterBannedAt AND ban.userId > :afterUserId', {
              afterUserId: after.userId,
            }),
        ),
      );
    }
    return query
      .orderBy('ban.bannedAt', 'ASC')
      .addOrderBy('ban.userId', 'ASC')
      .limit(limit + 1)
      .getMany();
  }
}
