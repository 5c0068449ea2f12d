import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Brackets, In, Repository } from 'typeorm';
import { DatabaseWriter, toPostgresPlaceholders } from '@app/database/database-writer';
import { toSqliteDatetime } from '@app/database/sqlite-writer';
import { isForeignKeyViolation } from '@app/database/unique-violation';
import { RoomMember } from './room-member.entity';
import { Room, RoomVisibility } from './room.entity';

/** A membership to insert; its read position starts at the room's lastSeq (see the insert). */
export type NewRoomMember = Pick<RoomMember, 'roomId' | 'userId' | 'joinedAt'>;

/** A room as one user sees it. */
export interface RoomAccess {
  room: Room;
  isMember: boolean;
  /** The user's read position; null when they are not a member. */
  lastReadSeq: number | null;
}

/** A room of the list, with the caller's read position (null when not a member). */
export interface VisibleRoom {
  room: Room;
  lastReadSeq: number | null;
}

/** Where a page of the room list starts: after this room. */
export interface RoomListPosition {
  createdAt: Date;
  id: string;
}

/** Where a page of a room's members starts: after this member. */
export interface MemberListPosition {
  joinedAt: Date;
  userId: string;
}

/**
 * Writes go through DatabaseWriter (one writer at a time on SQLite). Inserts that reference a row
 * deleted meanwhile (a room, a user) resolve to false instead of throwing: the service says which
 * one is missing.
 */
@Injectable()
export class RoomsRepository {
  constructor(
    @InjectRepository(Room) private readonly rooms: Repository<Room>,
    @InjectRepository(RoomMember) private readonly members: Repository<RoomMember>,
    private readonly writer: DatabaseWriter,
  ) {}

  /** Inserts a room and its owner's membership, both or neither; false when the owner is gone. */
  insertWithOwner(room: Room, owner: NewRoomMember): Promise<boolean> {
    if (this.writer.sqlite) {
      return unlessReferenceMissing(
        this.writer.sqliteTransaction((statements) => {
          statements(
            `INSERT INTO "rooms" ("id", "name", "visibility", "ownerId", "directKey", "lastSeq", "createdAt")
             VALUES (?, ?, ?, ?, ?, ?, ?)`,
          ).run(
            room.id,
            room.name,
            room.visibility,
            room.ownerId,
            room.directKey,
            room.lastSeq,
            toSqliteDatetime(room.createdAt),
          );
          statements(
            `INSERT INTO "room_members" ("roomId", "userId", "joinedAt") VALUES (?, ?, ?)`,
          ).run(owner.roomId, owner.userId, toSqliteDatetime(owner.joinedAt));
        }),
      );
    }
    // Copies: TypeORM writes values the database returned (raw, untransformed) into what it inserts.
    return unlessReferenceMissing(
      this.writer.postgresTransaction(async (manager) => {
        await manager.insert(Room, { ...room });
        await manager.insert(RoomMember, { ...owner });
      }),
    );
  }

  /** The room's stored id and last seq, by a raw read; null when there is no such room. */
  async findLastSeq(roomId: string): Promise<{ roomId: string; lastSeq: number } | null> {
    const [row] = await this.writer.read<{ id: string; lastSeq: number | string }>(
      'SELECT "id", "lastSeq" FROM "rooms" WHERE "id" = ?',
      [roomId],
    );
    return row ? { roomId: row.id, lastSeq: Number(row.lastSeq) } : null;
  }

  findById(id: string): Promise<Room | null> {
    return this.rooms.findOneBy({ id });
  }

  /** The room, whether `userId` is a member and their read position, in one query. */
  async findAccess(roomId: string, userId: string): Promise<RoomAccess | null> {
    const { entities, raw } = await this.rooms
      .createQueryBuilder('room')
      .leftJoin(RoomMember, 'member', 'member.roomId = room.id AND member.userId = :userId', {
        userId,
      })
      .addSelect('member.userId', 'memberUserId')
      .addSelect('member.lastReadSeq', 'memberLastReadSeq')
      .where('room.id = :roomId', { roomId })
      .getRawAndEntities<MemberColumns>();
    const room = entities[0];
    return room ? { room, ...membershipOf(raw[0]) } : null;
  }

  /**
   * Public rooms and the rooms `userId` is a member of, oldest first, `limit + 1` of them, each
   * with the caller's read position: one query, the membership a join on the primary key.
   */
  async listVisible(
    userId: string,
    after: RoomListPosition | null,
    limit: number,
  ): Promise<VisibleRoom[]> {
    const query = this.rooms
      .createQueryBuilder('room')
      .leftJoin(RoomMember, 'member', 'member.roomId = room.id AND member.userId = :userId', {
        userId,
      })
      .addSelect('member.userId', 'memberUserId')
      .addSelect('member.lastReadSeq', 'memberLastReadSeq')
      .where(
        new Brackets((visible) =>
          visible
            .where('room.visibility = :public', { public: RoomVisibility.Public })
            .orWhere('member.userId IS NOT NULL'),
        ),
      );
    if (after) {
      query.andWhere(
        new Brackets((later) =>
          later
            .where('room.createdAt > :afterCreatedAt', { afterCreatedAt: after.createdAt })
            .orWhere('room.createdAt = :afterCreatedAt AND room.id > :afterId', {
              afterId: after.id,
            }),
        ),
      );
    }
    const { entities, raw } = await query
      .orderBy('room.createdAt', 'ASC')
      .addOrderBy('room.id', 'ASC')
      .limit(limit + 1)
      .getRawAndEntities<MemberColumns & { room_id: string }>();
    const readPositions = new Map(
      raw.map((row) => [row.room_id, membershipOf(row).lastReadSeq] as const),
    );
    return entities.map((room) => ({ room, lastReadSeq: readPositions.get(room.id) ?? null }));
  }

  /** Deletes the room; its memberships and messages go with it (ON DELETE CASCADE). */
  async delete(id: string): Promise<void> {
    await this.writer.run(() => this.rooms.delete({ id }));
  }

  findMember(roomId: string, userId: string): Promise<RoomMember | null> {
    return this.members.findOneBy({ roomId, userId });
  }

  /**
   * The memberships among these (room, user) pairs, in one query: rooms IN and users IN (both
   * served by the primary key), narrowed to the pairs here. Pass pairs grouped by room, so that
   * the rows of rooms and users that only meet in the query stay few.
   */
  async findMemberships(
    pairs: readonly { roomId: string; userId: string }[],
  ): Promise<Pick<RoomMember, 'roomId' | 'userId'>[]> {
    if (pairs.length === 0) {
      return [];
    }
    const rows = await this.members.find({
      select: { roomId: true, userId: true },
      where: {
        roomId: In([...new Set(pairs.map((pair) => pair.roomId))]),
        userId: In([...new Set(pairs.map((pair) => pair.userId))]),
      },
    });
    const wanted = new Set(pairs.map(({ roomId, userId }) => `${roomId} ${userId}`));
    return rows.filter(({ roomId, userId }) => wanted.has(`${roomId} ${userId}`));
  }

  /**
   * Adds the memberships of one room that do not exist yet; existing ones keep their `joinedAt`
   * and read position. A new member has read what the room held when they joined (their unread
   * count starts at 0, not at the room's whole history): the read position is the room's
   * `lastSeq`, read by the insert itself. False when the room or one of the users no longer
   * exists (nothing is added then).
   */
  insertMembersUnlessPresent(members: NewRoomMember[]): Promise<boolean> {
    const roomIds = new Set(members.map((member) => member.roomId));
    if (roomIds.size !== 1) {
      throw new Error('insertMembersUnlessPresent adds members of one room at a time');
    }
    const [roomId] = roomIds;
    return unlessReferenceMissing(
      this.writer.run(() =>
        this.members
          .createQueryBuilder()
          .insert()
          // One order for every caller: two inserts of the same rows in opposite orders (both
          // users of a direct room writing first at once) deadlock on PostgreSQL.
          .values(
            [...members]
              .sort((a, b) => compare(a.userId, b.userId))
              .map((member) => ({
                ...member,
                lastReadSeq: () =>
                  `COALESCE((SELECT "lastSeq" FROM "rooms" WHERE "id" = :readFromRoomId), 0)`,
              })),
          )
          .setParameter('readFromRoomId', roomId)
          .orIgnore()
          .execute(),
      ),
    );
  }

  /**
   * Adds one membership unless it exists or the user is banned from the room, decided by the
   * insert itself (no ban read before it that a ban could slip past). Resolves whether a row was
   * added; null when the room or the user no longer exists. The read position starts at the
   * room's `lastSeq`, as in `insertMembersUnlessPresent`.
   */
  async insertMemberUnlessBanned(member: NewRoomMember): Promise<boolean | null> {
    // The SELECT has a WHERE clause, which SQLite needs to parse `INSERT … SELECT … ON CONFLICT`.
    const insert = `INSERT INTO "room_members" ("roomId", "userId", "joinedAt", "lastReadSeq")
      SELECT ?, ?, ?, COALESCE((SELECT "lastSeq" FROM "rooms" WHERE "id" = ?), 0)
      WHERE NOT EXISTS (SELECT 1 FROM "room_bans" WHERE "roomId" = ? AND "userId" = ?)
      ON CONFLICT DO NOTHING`;
    const { roomId, userId } = member;
    try {
      if (this.writer.sqlite) {
        const parameters = [
          roomId,
          userId,
          toSqliteDatetime(member.joinedAt),
          roomId,
          roomId,
          userId,
        ];
        const changes = await this.writer.sqliteTransaction(
          (statements) => statements(insert).run(...parameters).changes,
        );
        return changes > 0;
      }
      let index = 0;
      const rows = await this.writer.run(() =>
        this.members.query<unknown[]>(
          `${insert.replace(/\?/g, () => `$${++index}`)} RETURNING "userId"`,
          [roomId, userId, member.joinedAt, roomId, roomId, userId],
        ),
      );
      return rows.length > 0;
    } catch (error) {
      if (isForeignKeyViolation(error)) {
        return null;
      }
      throw error;
    }
  }

  /**
   * Makes `newOwnerId` the room's owner if `ownerId` still owns it and `newOwnerId` is a member;
   * resolves whether it did. Against a leave of the new owner at the same moment (which would
   * leave the room to a non-member): on PostgreSQL the room's row is locked first and membership
   * read after the lock (a new snapshot), as `deleteMemberUnlessOwner` does in the same order; on
   * SQLite the one statement runs alone.
   */
  async updateOwnerIfMember(roomId: string, ownerId: string, newOwnerId: string): Promise<boolean> {
    const changeOwner = `UPDATE "rooms" SET "ownerId" = ?
      WHERE "id" = ? AND "ownerId" = ?
        AND EXISTS (SELECT 1 FROM "room_members" WHERE "roomId" = ? AND "userId" = ?)`;
    const parameters = [newOwnerId, roomId, ownerId, roomId, newOwnerId];
    if (this.writer.sqlite) {
      return this.writer.sqliteTransaction(
        (statements) => statements(changeOwner).run(...parameters).changes === 1,
      );
    }
    return this.writer.postgresTransaction(async (manager) => {
      await manager.query('SELECT 1 FROM "rooms" WHERE "id" = $1 FOR UPDATE', [roomId]);
      const [, affected] = await manager.query<[unknown, number]>(
        toPostgresPlaceholders(changeOwner),
        parameters,
      );
      return affected === 1;
    });
  }

  async deleteMember(roomId: string, userId: string): Promise<void> {
    await this.writer.run(() => this.members.delete({ roomId, userId }));
  }

  /**
   * Ends `userId`'s membership unless they own the room now; false (nothing deleted) when they
   * do. Decided under the room row's lock on PostgreSQL, so a handover to this user that commits
   * at the same moment either comes first (and the leave is refused) or waits for the leave (and
   * finds no member to hand the room to).
   */
  async deleteMemberUnlessOwner(roomId: string, userId: string): Promise<boolean> {
    const deleteUnlessOwner = `DELETE FROM "room_members" WHERE "roomId" = ? AND "userId" = ?
      AND NOT EXISTS (SELECT 1 FROM "rooms" WHERE "id" = ? AND "ownerId" = ?)`;
    const ownsIt = 'SELECT 1 FROM "rooms" WHERE "id" = ? AND "ownerId" = ?';
    if (this.writer.sqlite) {
      return this.writer.sqliteTransaction((statements) => {
        statements(deleteUnlessOwner).run(roomId, userId, roomId, userId);
        return statements(ownsIt).get(roomId, userId) === undefined;
      });
    }
    return this.writer.postgresTransaction(async (manager) => {
      const owner = await manager.query<{ ownerId: string | null }[]>(
        'SELECT "ownerId" FROM "rooms" WHERE "id" = $1 FOR SHARE',
        [roomId],
      );
      if (owner[0]?.ownerId === userId) {
        return false;
      }
      await manager.query('DELETE FROM "room_members" WHERE "roomId" = $1 AND "userId" = $2', [
        roomId,
        userId,
      ]);
      return true;
    });
  }

  countMembers(roomId: string, userIds: string[]): Promise<number> {
    return this.members.countBy({ roomId, userId: In(userIds) });
  }

  /** A room's members in the order they joined, `limit + 1` of them. */
  listMembers(
    roomId: string,
    after: MemberListPosition | null,
    limit: number,
  ): Promise<RoomMember[]> {
    const query = this.members
      .createQueryBuilder('member')
      .where('member.roomId = :roomId', { roomId });
    if (after) {
      query.andWhere(
        new Brackets((later) =>
          later
            .where('member.joinedAt > :afterJoinedAt', { afterJoinedAt: after.joinedAt })
            .orWhere('member.joinedAt = :afterJoinedAt AND member.userId > :afterUserId', {
              afterUserId: after.userId,
            }),
        ),
      );
    }
    return query
      .orderBy('member.joinedAt', 'ASC')
      .addOrderBy('member.userId', 'ASC')
      .limit(limit + 1)
      .getMany();
  }

  findByDirectKey(directKey: string): Promise<Room | null> {
    return this.rooms.findOneBy({ directKey });
  }

  /**
   * Inserts a direct room unless its `directKey` is taken, which it is when the other user's
   * first message won the race: then nothing happens and the caller reads that room.
   */
  async insertDirectUnlessPresent(room: Room): Promise<void> {
    await this.writer.run(() =>
      this.rooms
        .createQueryBuilder()
        .insert()
        .values({ ...room })
        .orIgnore()
        .execute(),
    );
  }
}

/** The raw columns of the caller's membership that the room reads join in. */
interface MemberColumns {
  memberUserId: string | null;
  memberLastReadSeq: number | string | null;
}

function membershipOf(row: MemberColumns | undefined): Omit<RoomAccess, 'room'> {
  const isMember = row?.memberUserId != null;
  return { isMember, lastReadSeq: isMember ? Number(row.memberLastReadSeq) : null };
}

/** Resolves true once `write` is done, false when it failed on a foreign key (a row is gone). */
async function unlessReferenceMissing(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (error) {
    if (isForeignKeyViolation(error)) {
      return false;
    }
    throw error;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
