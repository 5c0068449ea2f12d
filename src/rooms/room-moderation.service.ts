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
import { RoomBan } from './room-ban.entity';
import { RoomBansRepository } from './room-bans.repository';
import { RoomCache } from './room-cache';
import { RoomEvents } from './room-events';
import { Room } from './room.entity';
import { RoomsRepository } from './rooms.repository';
import { PageRequest, ROOM_NOT_FOUND, RoomsService } from './rooms.service';

/** A ban with the banned user's public profile. */
export interface RoomBanProfile {
  ban: RoomBan;
  user: User;
}

/**
 * What a room's owner does to its members: remove, ban, lift a ban, hand the room over. A
 * removal or ban takes effect everywhere before it is answered: the cached access goes, and the
 * user's connections in the room get `left` on every instance (`RoomEvents.accessRevoked`).
 */
@Injectable()
export class RoomModerationService {
  constructor(
    private readonly roomsService: RoomsService,
    private readonly rooms: RoomsRepository,
    private readonly bans: RoomBansRepository,
    private readonly users: UsersService,
    private readonly cache: RoomCache,
    private readonly events: RoomEvents,
  ) {}

  /** Removes a member; idempotent. The owner cannot remove themselves (409). */
  async removeMember(callerId: string, roomId: string, userId: string): Promise<void> {
    await this.ownedRoom(callerId, roomId, 'remove members');
    if (userId === callerId) {
      throw new AppError(
        'owner_cannot_leave',
        "The room's owner cannot be removed; hand the room over or delete it",
      );
    }
    await this.revokeMembership(roomId, userId);
  }

  /**
   * An operator's removal (the console): as the owner's, for any room. The owner cannot be
   * removed (409); a room that does not exist is 404.
   */
  async removeMemberAsOperator(roomId: string, userId: string): Promise<void> {
    const room = await this.roomsService.findRoom(roomId);
    if (room.ownerId === userId) {
      throw new AppError(
        'owner_cannot_leave',
        "The room's owner cannot be removed; hand the room over or delete it",
      );
    }
    await this.revokeMembership(roomId, userId);
  }

  /**
   * Bans a user (a member or not): removed, and refused when joining or being added until the
   * ban is lifted. Banning again changes nothing; the owner cannot be banned (409).
   */
  async banUser(callerId: string, roomId: string, userId: string): Promise<void> {
    await this.ownedRoom(callerId, roomId, 'ban users');
    if (userId === callerId) {
      throw new AppError('owner_cannot_be_banned', "The room's owner cannot be banned");
    }
    await this.users.getUser(userId);
    if (!(await this.bans.insertUnlessPresent({ roomId, userId, bannedAt: new Date() }))) {
      // The room or the user was deleted in between.
      throw new AppError('not_found', ROOM_NOT_FOUND);
    }
    // Only now that the ban is committed, not in its transaction: a join whose insert this
    // delete does not see reads the ban after its insert (RoomsService.admit).
    await this.revokeMembership(roomId, userId);
  }

  /** Lifts a ban; idempotent. */
  async unbanUser(callerId: string, roomId: string, userId: string): Promise<void> {
    await this.ownedRoom(callerId, roomId, 'lift bans');
    await this.bans.delete(roomId, userId);
  }

  /** The room's bans, oldest first. */
  async listBans(
    callerId: string,
    roomId: string,
    page: PageRequest,
  ): Promise<Page<RoomBanProfile>> {
    await this.ownedRoom(callerId, roomId, 'list bans');
    const after = page.cursor ? decodeCursor(page.cursor, isBanListCursor) : null;
    const rows = await this.bans.list(
      roomId,
      after && { bannedAt: new Date(after.bannedAt), userId: after.userId },
      page.limit,
    );
    const { items, nextCursor } = pageOf(rows, page.limit, (last): BanListCursor => ({
      bannedAt: last.bannedAt.toISOString(),
      userId: last.userId,
    }));
    const users = await this.users.getUsersByIds(items.map((ban) => ban.userId));
    return {
      items: items.flatMap((ban) => {
        const user = users.get(ban.userId);
        return user ? [{ ban, user }] : [];
      }),
      nextCursor,
    };
  }

  /**
   * Hands the room to another member, who can moderate it from then on; the caller stays a plain
   * member (and may leave). Handing it to oneself changes nothing; a non-member is 409.
   */
  async transferOwnership(callerId: string, roomId: string, newOwnerId: string): Promise<void> {
    await this.ownedRoom(callerId, roomId, 'hand the room over');
    if (newOwnerId === callerId) {
      return;
    }
    if (!(await this.rooms.updateOwnerIfMember(roomId, callerId, newOwnerId))) {
      const access = await this.rooms.findAccess(roomId, newOwnerId);
      if (!access) {
        throw new AppError('not_found', ROOM_NOT_FOUND);
      }
      if (access.room.ownerId !== callerId) {
        throw new AppError('forbidden', 'The room has another owner now');
      }
      throw new AppError('new_owner_not_member', 'The new owner must be a member of the room');
    }
    await this.cache.ownerChanged(roomId);
  }

  /**
   * The room, when the caller may see it (else 404) and owns it (else 403). A direct room has no
   * owner: nobody moderates it.
   */
  private async ownedRoom(callerId: string, roomId: string, action: string): Promise<Room> {
    const { room } = await this.roomsService.getReadableRoom(callerId, roomId);
    if (room.ownerId !== callerId) {
      throw new AppError('forbidden', `Only the room's owner can ${action}`);
    }
    return room;
  }

  /** Out of the room everywhere: the membership, its cached access, and live delivery. */
  private async revokeMembership(roomId: string, userId: string): Promise<void> {
    if (!(await this.rooms.deleteMemberUnlessOwner(roomId, userId))) {
      // Handed the room meanwhile: the owner is never removed.
      throw new AppError('owner_cannot_leave', 'The room was handed to this user meanwhile');
    }
    await this.cache.membershipChanged(roomId, [userId]);
    this.events.accessRevoked.emit({ roomId, userId });
  }
}

interface BanListCursor {
  bannedAt: string;
  userId: string;
}

function isBanListCursor(value: unknown): value is BanListCursor {
  return isRecord(value) && isTimestamp(value.bannedAt) && isUuid(value.userId);
}
