import { Inject, Injectable } from '@nestjs/common';
import { CACHE_OPTIONS, CacheOptions, CacheService } from '@libs/cache';
import { RoomVisibility } from './room.entity';

/** The cached reads of a room, each with a tag of its own. */
export type RoomCachedPart = 'details' | 'members' | 'messages';

/**
 * `room:<id>`: every cache entry of a room carries it, so that deleting the room removes them
 * all. One room has one tag: ids are canonical (lower case) from the boundary on (`canonicalId`).
 */
function roomTag(roomId: string): string {
  return `room:${roomId}`;
}

function partTag(roomId: string, part: RoomCachedPart): string {
  return `${roomTag(roomId)}:${part}`;
}

/** Whether one user is a member: their access to a private or direct room. */
function memberTag(roomId: string, userId: string): string {
  return `${roomTag(roomId)}:member:${userId}`;
}

/** One member's read position: part of their view of the room (`unreadCount`). */
function readerTag(roomId: string, userId: string): string {
  return `${roomTag(roomId)}:reader:${userId}`;
}

/**
 * The tags of a cached read of one part of a room (`@CacheResponse({ tags })`); `caller` is set
 * for the room's details, which carry the caller's read position and are cached per caller.
 */
export function roomReadTags(
  roomId: string,
  part: RoomCachedPart,
  caller: string | undefined,
): string[] {
  const tags = [roomTag(roomId), partTag(roomId, part)];
  return caller === undefined ? tags : [...tags, readerTag(roomId, caller)];
}

/**
 * What the cache holds about rooms, and which writes remove what:
 *
 * | entry | tags | removed by |
 * | --- | --- | --- |
 * | `GET /api/rooms/:id`, per caller | `room:<id>`, `room:<id>:details`, `room:<id>:reader:<caller>` | a new entry (lastSeq), the caller's read position, deletion |
 * | `GET /api/rooms/:id/members` | `room:<id>`, `room:<id>:members` | join, leave, add, deletion |
 * | `GET /api/rooms/:id/messages` | `room:<id>`, `room:<id>:messages` | a new message, deletion |
 * | the room's visibility | `room:<id>` | deletion (it never changes otherwise) |
 * | one user's membership | `room:<id>`, `room:<id>:member:<user>` | that user's join, leave or add, deletion |
 *
 * Access decisions are two entries, not one per (room, user): a public room needs only its
 * visibility, however many users read it; memberships are cached for private and direct rooms.
 * Every invalidation is awaited by the write before it is acknowledged.
 */
@Injectable()
export class RoomCache {
  /**
   * Access decisions live at least this long, even when response caching is off
   * (`CACHE_TTL_MS=0`): every write that changes one invalidates it before it is acknowledged,
   * so the lifetime only bounds how long a lost cross-instance invalidation can matter (and with
   * Redis the in-process copy keeps at most its front TTL), while without it every read of a
   * room would pay for a database query before its own.
   */
  static readonly MIN_ACCESS_TTL_MS = 30_000;

  constructor(
    private readonly cache: CacheService,
    @Inject(CACHE_OPTIONS) private readonly options: Pick<CacheOptions, 'defaultTtlMs'>,
  ) {}

  /** The room's visibility; undefined (and not cached) when there is no such room. */
  async visibility(
    roomId: string,
    load: () => Promise<RoomVisibility | undefined>,
  ): Promise<RoomVisibility | undefined> {
    const key = `${roomTag(roomId)} visibility`;
    return this.getOrLoad(key, [roomTag(roomId)], load);
  }

  /** Whether `userId` is a member of the room. */
  async isMember(roomId: string, userId: string, load: () => Promise<boolean>): Promise<boolean> {
    const key = `${roomTag(roomId)} member ${userId}`;
    return this.getOrLoad(key, [roomTag(roomId), memberTag(roomId, userId)], load);
  }

  /** A message was stored: the history pages and the room (its lastSeq) change. */
  messagePosted(roomId: string): Promise<void> {
    return this.cache.invalidateTags([partTag(roomId, 'messages'), partTag(roomId, 'details')]);
  }

  /** A member's read position moved: their view of the room (its unreadCount) changes. */
  readPositionMoved(roomId: string, userId: string): Promise<void> {
    return this.cache.invalidateTags([readerTag(roomId, userId)]);
  }

  /** These users joined, left or were added: the member list and their access change. */
  membershipChanged(roomId: string, userIds: readonly string[]): Promise<void> {
    return this.cache.invalidateTags([
      partTag(roomId, 'members'),
      ...userIds.map((userId) => memberTag(roomId, userId)),
    ]);
  }

  /** The room is gone: everything cached about it goes. */
  roomDeleted(roomId: string): Promise<void> {
    return this.cache.invalidateTags([roomTag(roomId)]);
  }

  private async getOrLoad<T>(key: string, tags: string[], load: () => Promise<T>): Promise<T> {
    const ttlMs = Math.max(this.options.defaultTtlMs, RoomCache.MIN_ACCESS_TTL_MS);
    // An access decision read before a write that changed it is never handed out (a join racing
    // a leave would act on it): the cache loads it again.
    const { value } = await this.cache.getOrLoad(
      { key, tags, ttlMs, reloadIfOvertaken: true },
      load,
    );
    return value;
  }
}
