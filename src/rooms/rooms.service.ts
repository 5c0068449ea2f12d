import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppError } from '@app/common/errors/app-error';
import {
  decodeCursor,
  isRecord,
  isTimestamp,
  isUuid,
  Page,
  pageOf,
} from '@app/common/pagination/pagination';
import type { User } from '@app/users/user.entity';
import { UsersService } from '@app/users/users.service';
import { RoomCache } from './room-cache';
import { RoomMember } from './room-member.entity';
import { Room, RoomVisibility } from './room.entity';
import { RoomBansRepository } from './room-bans.repository';
import { RoomEvents } from './room-events';
import { RoomAccess, RoomsRepository, VisibleRoom } from './rooms.repository';

export interface NewRoom {
  name: string;
  visibility: RoomVisibility.Public | RoomVisibility.Private;
}

export interface PageRequest {
  limit: number;
  cursor?: string;
}

/** A member with their public profile. */
export interface RoomMemberProfile {
  member: RoomMember;
  user: User;
  isOwner: boolean;
}

/** The same answer for a room that does not exist and one the caller may not see. */
export const ROOM_NOT_FOUND = 'Room not found';

@Injectable()
export class RoomsService {
  constructor(
    private readonly rooms: RoomsRepository,
    private readonly bans: RoomBansRepository,
    private readonly users: UsersService,
    private readonly events: RoomEvents,
    private readonly cache: RoomCache,
  ) {}

  /** The key of the direct room of two users, whichever of them asks. */
  static directKey(userId: string, otherUserId: string): string {
    return [userId, otherUserId].sort().join(':');
  }

  async createRoom(ownerId: string, request: NewRoom): Promise<Room> {
    const now = new Date();
    const room: Room = {
      id: randomUUID(),
      name: request.name,
      visibility: request.visibility,
      ownerId,
      directKey: null,
      lastSeq: 0,
      createdAt: now,
    };
    if (
      !(await this.rooms.insertWithOwner(room, { roomId: room.id, userId: ownerId, joinedAt: now }))
    ) {
      await this.assertUserExists(ownerId);
      throw new Error(`Room ${room.id} references a row that is missing`);
    }
    return room;
  }

  /**
   * Public rooms and the caller's own (private and direct ones included), oldest first, each with
   * the caller's read position.
   */
  async listRooms(userId: string, page: PageRequest): Promise<Page<VisibleRoom>> {
    const after = page.cursor ? decodeCursor(page.cursor, isRoomListCursor) : null;
    const rows = await this.rooms.listVisible(
      userId,
      after && { createdAt: new Date(after.createdAt), id: after.id },
      page.limit,
    );
    return pageOf(rows, page.limit, (last) => roomListCursor(last.room));
  }

  /** The room with the caller's read position. */
  async getRoom(userId: string, roomId: string): Promise<VisibleRoom> {
    const { room, lastReadSeq } = await this.getReadableRoom(userId, roomId);
    return { room, lastReadSeq };
  }

  /** Any room, whoever asks: for the operator console only, which checks its caller itself. */
  async findRoom(roomId: string): Promise<Room> {
    const room = await this.rooms.findById(roomId);
    if (!room) {
      throw new AppError('not_found', ROOM_NOT_FOUND);
    }
    return room;
  }

  /**
   * The room and the caller's membership when the caller may read it: a public room, or one they
   * are a member of. Anything else is 404, exactly as for a room that does not exist.
   */
  async getReadableRoom(userId: string, roomId: string): Promise<RoomAccess> {
    const access = await this.rooms.findAccess(roomId, userId);
    if (!access || !(await mayRead(access.room.visibility, () => access.isMember))) {
      throw new AppError('not_found', ROOM_NOT_FOUND);
    }
    return access;
  }

  /**
   * `getReadableRoom`'s decision without the room, answered from the cache when it can: a
   * repeated read costs no database query. What guards of cached routes and history reads call.
   * Writes that change it (membership, deletion) invalidate it before they are acknowledged.
   */
  async assertReadable(userId: string, roomId: string): Promise<void> {
    const visibility = await this.cachedVisibility(roomId);
    if (
      visibility === undefined ||
      !(await mayRead(visibility, () => this.cachedMembership(roomId, userId)))
    ) {
      throw new AppError('not_found', ROOM_NOT_FOUND);
    }
  }

  /**
   * Throws the error a non-member gets for writing to the room: 404 or 403, and 401 when the
   * token's user no longer exists (their memberships went with them).
   */
  async assertMember(userId: string, roomId: string): Promise<void> {
    const access = await this.getReadableRoom(userId, roomId);
    if (!access.isMember) {
      await this.assertUserExists(userId);
      throw new AppError('not_a_member', 'Join the room first');
    }
  }

  async deleteRoom(userId: string, roomId: string): Promise<void> {
    const { room } = await this.getReadableRoom(userId, roomId);
    if (room.ownerId !== userId) {
      throw new AppError('forbidden', "Only the room's owner can delete it");
    }
    await this.rooms.delete(room.id);
    await this.cache.roomDeleted(room.id);
    this.events.accessRevoked.emit({ roomId: room.id, userId: null });
  }

  /**
   * Joins a public room; idempotent. A private or direct room is 404 unless already a member;
   * a user banned from the room is refused (403 `banned`). Decided from the cached access
   * entries: joining a room one is in already costs no query (a ban removed the membership).
   */
  async joinRoom(userId: string, roomId: string): Promise<void> {
    const visibility = await this.cachedVisibility(roomId);
    if (visibility === undefined) {
      throw new AppError('not_found', ROOM_NOT_FOUND);
    }
    if (await this.cachedMembership(roomId, userId)) {
      return;
    }
    if (visibility !== RoomVisibility.Public) {
      throw new AppError('not_found', ROOM_NOT_FOUND);
    }
    await this.admit(roomId, userId, userId, 'You are banned from this room');
  }

  /**
   * Makes `userId` a member unless they are banned from the room (403 `banned`, with `refusal`).
   * Safe against a ban at the same moment: the insert adds no row when a ban is committed, and
   * the ban is read again after a row was added, because on PostgreSQL a ban committed while the
   * insert ran is invisible to it. The ban removes the membership only after it is committed
   * itself (`RoomModerationService`), so one of the two always sees the other.
   */
  private async admit(
    roomId: string,
    userId: string,
    callerId: string,
    refusal: string,
  ): Promise<void> {
    const added = await this.rooms.insertMemberUnlessBanned({
      roomId,
      userId,
      joinedAt: new Date(),
    });
    if (added === null) {
      await this.referenceMissing(roomId, callerId);
    }
    const banned = await this.bans.isBanned(roomId, userId);
    if (banned && added) {
      await this.rooms.deleteMember(roomId, userId);
    }
    await this.cache.membershipChanged(roomId, [userId]);
    if (banned) {
      if (added) {
        // A connection may have entered the room on the short-lived membership.
        this.events.accessRevoked.emit({ roomId, userId });
      }
      throw new AppError('banned', refusal);
    }
  }

  /**
   * The pairs among `pairs` whose user is no member of the room (any more, or the room is gone),
   * read fresh from the database in one query: how an instance that may have missed revocations
   * finds the connections it must take out of rooms.
   */
  async withoutMembership<T extends { roomId: string; userId: string }>(
    pairs: readonly T[],
  ): Promise<T[]> {
    const members = new Set(
      (await this.rooms.findMemberships(pairs)).map(({ roomId, userId }) => `${roomId} ${userId}`),
    );
    return pairs.filter(({ roomId, userId }) => !members.has(`${roomId} ${userId}`));
  }

  /** Whether the user is a member now, from the cache (what `joinRoom` decided on). */
  isMember(userId: string, roomId: string): Promise<boolean> {
    return this.cachedMembership(roomId, userId);
  }

  /**
   * The room's id as stored and its last seq, read fresh (not from a cache): what a client that
   * has just subscribed to the room's live messages syncs from. 404 when there is no such room.
   */
  async sequencePosition(roomId: string): Promise<{ roomId: string; lastSeq: number }> {
    const position = await this.rooms.findLastSeq(roomId);
    if (!position) {
      throw new AppError('not_found', ROOM_NOT_FOUND);
    }
    return position;
  }

  private cachedVisibility(roomId: string): Promise<RoomVisibility | undefined> {
    return this.cache.visibility(
      roomId,
      async () => (await this.rooms.findById(roomId))?.visibility,
    );
  }

  private cachedMembership(roomId: string, userId: string): Promise<boolean> {
    return this.cache.isMember(
      roomId,
      userId,
      async () => (await this.rooms.findMember(roomId, userId)) !== null,
    );
  }

  /** Leaves a room; idempotent. The owner cannot leave: they delete the room instead. */
  async leaveRoom(userId: string, roomId: string): Promise<void> {
    const { room } = await this.getReadableRoom(userId, roomId);
    if (room.ownerId === userId) {
      throw new AppError(
        'owner_cannot_leave',
        "The room's owner cannot leave it; delete it instead",
      );
    }
    if (!(await this.rooms.deleteMemberUnlessOwner(roomId, userId))) {
      // The room was handed to them meanwhile.
      throw new AppError(
        'owner_cannot_leave',
        "The room's owner cannot leave it; delete it instead",
      );
    }
    await this.cache.membershipChanged(roomId, [userId]);
    this.events.accessRevoked.emit({ roomId, userId });
  }

  /**
   * The owner adds a user (the way into a private room); idempotent. A user banned from the room
   * is refused (403 `banned`) until the ban is lifted.
   */
  async addMember(callerId: string, roomId: string, userId: string): Promise<RoomMemberProfile> {
    const { room } = await this.getReadableRoom(callerId, roomId);
    if (room.ownerId !== callerId) {
      throw new AppError('forbidden', "Only the room's owner can add members");
    }
    const user = await this.users.getUser(userId);
    await this.admit(
      roomId,
      userId,
      callerId,
      'This user is banned from the room; lift the ban first',
    );
    const member = await this.rooms.findMember(roomId, userId);
    if (!member) {
      // The room was deleted in between.
      throw new AppError('not_found', ROOM_NOT_FOUND);
    }
    return { member, user, isOwner: false };
  }

  /** A room's members in the order they joined. */
  async listMembers(
    userId: string,
    roomId: string,
    page: PageRequest,
  ): Promise<Page<RoomMemberProfile>> {
    const { room } = await this.getReadableRoom(userId, roomId);
    const after = page.cursor ? decodeCursor(page.cursor, isMemberListCursor) : null;
    const rows = await this.rooms.listMembers(
      roomId,
      after && { joinedAt: new Date(after.joinedAt), userId: after.userId },
      page.limit,
    );
    const { items, nextCursor } = pageOf(rows, page.limit, (last) => memberListCursor(last));
    const users = await this.users.getUsersByIds(items.map((member) => member.userId));
    const profiles = items.flatMap((member) => {
      const user = users.get(member.userId);
      return user ? [{ member, user, isOwner: member.userId === room.ownerId }] : [];
    });
    return { items: profiles, nextCursor };
  }

  /**
   * The direct room of two users, made on first use. One room per pair also when both write
   * first at the same moment: the unique `directKey` lets one insert win and the other read it.
   * Both users are (again) members afterwards, so that a user who left gets new messages.
   */
  async getOrCreateDirectRoom(userId: string, otherUserId: string): Promise<Room> {
    const directKey = RoomsService.directKey(userId, otherUserId);
    const existing = await this.rooms.findByDirectKey(directKey);
    if (existing && (await this.rooms.countMembers(existing.id, [userId, otherUserId])) === 2) {
      return existing;
    }
    const now = new Date();
    if (!existing) {
      await this.rooms.insertDirectUnlessPresent({
        id: randomUUID(),
        name: null,
        visibility: RoomVisibility.Direct,
        ownerId: null,
        directKey,
        lastSeq: 0,
        createdAt: now,
      });
    }
    const room = existing ?? (await this.rooms.findByDirectKey(directKey));
    if (!room) {
      throw new Error(`Direct room ${directKey} is missing right after its insert`);
    }
    const inserted = await this.rooms.insertMembersUnlessPresent([
      { roomId: room.id, userId, joinedAt: now },
      { roomId: room.id, userId: otherUserId, joinedAt: now },
    ]);
    if (!inserted) {
      await this.referenceMissing(room.id, userId);
    }
    await this.cache.membershipChanged(room.id, [userId, otherUserId]);
    return room;
  }

  /**
   * After an insert found a row it references gone (deleted since it was checked): 404 for the
   * room, 401 when it is the caller, else 404 for the other user.
   */
  private async referenceMissing(roomId: string, callerId: string): Promise<never> {
    if (!(await this.rooms.findById(roomId))) {
      throw new AppError('not_found', ROOM_NOT_FOUND);
    }
    await this.assertUserExists(callerId);
    throw new AppError('not_found', 'User not found');
  }

  /** A valid token whose user has since been deleted is no authentication at all. */
  private async assertUserExists(userId: string): Promise<void> {
    if (!(await this.users.getUsersByIds([userId])).has(userId)) {
      throw new AppError('unauthenticated', 'The user of this token no longer exists');
    }
  }
}

/** The one rule for reading a room: a public room to anyone, any other room to its members. */
async function mayRead(
  visibility: RoomVisibility,
  isMember: () => boolean | Promise<boolean>,
): Promise<boolean> {
  return visibility === RoomVisibility.Public || (await isMember());
}

interface RoomListCursor {
  createdAt: string;
  id: string;
}

interface MemberListCursor {
  joinedAt: string;
  userId: string;
}

function roomListCursor(room: Room): RoomListCursor {
  return { createdAt: room.createdAt.toISOString(), id: room.id };
}

function memberListCursor(member: RoomMember): MemberListCursor {
  return { joinedAt: member.joinedAt.toISOString(), userId: member.userId };
}

function isRoomListCursor(value: unknown): value is RoomListCursor {
  return isRecord(value) && isTimestamp(value.createdAt) && isUuid(value.id);
}

function isMemberListCursor(value: unknown): value is MemberListCursor {
  return isRecord(value) && isTimestamp(value.joinedAt) && isUuid(value.userId);
}
