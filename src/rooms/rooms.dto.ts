import { ApiProperty } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsIn, IsInt, IsString, Length, Max, Min } from 'class-validator';
import { IsId } from '@app/common/validation/canonical-id';
import { Page } from '@app/common/pagination/pagination';
import { toUserResponse, UserResponseDto } from '@app/users/users.dto';
import { RoomVisibility } from './room.entity';
import type { ReadPosition } from './read-positions.service';
import { RoomMemberProfile } from './rooms.service';
import type { VisibleRoom } from './rooms.repository';
import {
  NOT_BLANK_PATTERN,
  SEQ_SCHEMA,
  TIMESTAMP_SCHEMA,
  UUID_SCHEMA,
} from '@app/openapi/api-schemas';
import { MAX_PAGE_LIMIT, NEXT_CURSOR_SCHEMA } from '@app/common/pagination/page-query.dto';

export const ROOM_NAME_MAX_LENGTH = 100;

/** The visibilities a client may create; direct rooms come from private messages. */
const CREATABLE_VISIBILITIES = [RoomVisibility.Public, RoomVisibility.Private] as const;

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export class CreateRoomRequestDto {
  /** 1 to 100 characters once surrounding spaces are removed. */
  @ApiProperty({ pattern: NOT_BLANK_PATTERN })
  @IsString()
  @Transform(trim)
  @Length(1, ROOM_NAME_MAX_LENGTH)
  name: string;

  /** `public`: anyone may read and join it; `private`: only members, whom the owner adds. */
  @ApiProperty({ enum: CREATABLE_VISIBILITIES, enumName: 'NewRoomVisibility' })
  @IsIn(CREATABLE_VISIBILITIES)
  visibility: RoomVisibility.Public | RoomVisibility.Private;
}

export class AddRoomMemberRequestDto {
  /** The user to add. */
  @ApiProperty(UUID_SCHEMA)
  @IsId()
  userId: string;
}

export class RoomResponseDto {
  @ApiProperty(UUID_SCHEMA)
  id: string;
  /** Null for a direct room. */
  @ApiProperty({ type: String, nullable: true, minLength: 1, maxLength: ROOM_NAME_MAX_LENGTH })
  name: string | null;
  @ApiProperty({ enum: RoomVisibility, enumName: 'RoomVisibility' })
  visibility: RoomVisibility;
  /** Null for a direct room, which nobody owns. */
  @ApiProperty({ ...UUID_SCHEMA, type: String, nullable: true })
  ownerId: string | null;
  /** The seq of the room's newest entry (message, edit or delete); 0 when there is none yet. */
  @ApiProperty(SEQ_SCHEMA)
  lastSeq: number;
  @ApiProperty(TIMESTAMP_SCHEMA)
  createdAt: string;
  /**
   * How far the caller has read (`PUT /api/rooms/:id/read`); their own entries count as read.
   * Null when the caller is not a member.
   */
  @ApiProperty({ ...SEQ_SCHEMA, type: 'integer', nullable: true })
  lastReadSeq: number | null;
  /**
   * `lastSeq - lastReadSeq`: the entries of the room after the caller's read position (messages,
   * and edits and deletes, which are entries too). Null when the caller is not a member.
   */
  @ApiProperty({ ...SEQ_SCHEMA, type: 'integer', nullable: true })
  unreadCount: number | null;
}

export class MarkRoomReadRequestDto {
  /** Read up to this seq. Past the room's `lastSeq` it is taken as `lastSeq`; it never moves back. */
  @ApiProperty({ type: 'integer', format: 'int64', minimum: 0 })
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  seq: number;
}

export class ReadPositionResponseDto {
  @ApiProperty(UUID_SCHEMA)
  roomId: string;
  /** The caller's read position now: the one asked for, clamped to `lastSeq`, or a later one. */
  @ApiProperty(SEQ_SCHEMA)
  lastReadSeq: number;
  @ApiProperty(SEQ_SCHEMA)
  unreadCount: number;
}

export class RoomPageResponseDto {
  @ApiProperty({ type: [RoomResponseDto], maxItems: MAX_PAGE_LIMIT })
  items: RoomResponseDto[];
  /** Pass as `cursor` for the next page; null on the last page. */
  @ApiProperty(NEXT_CURSOR_SCHEMA)
  nextCursor: string | null;
}

export enum RoomMemberRole {
  Owner = 'owner',
  Member = 'member',
}

export class RoomMemberResponseDto {
  user: UserResponseDto;
  @ApiProperty({ enum: RoomMemberRole, enumName: 'RoomMemberRole' })
  role: RoomMemberRole;
  @ApiProperty(TIMESTAMP_SCHEMA)
  joinedAt: string;
}

export class RoomMemberPageResponseDto {
  @ApiProperty({ type: [RoomMemberResponseDto], maxItems: MAX_PAGE_LIMIT })
  items: RoomMemberResponseDto[];
  /** Pass as `cursor` for the next page; null on the last page. */
  @ApiProperty(NEXT_CURSOR_SCHEMA)
  nextCursor: string | null;
}

/** A room as `caller` sees it: with their read position, or null ones when not a member. */
export function toRoomResponse({ room, lastReadSeq }: VisibleRoom): RoomResponseDto {
  return {
    id: room.id,
    name: room.name,
    visibility: room.visibility,
    ownerId: room.ownerId,
    lastSeq: room.lastSeq,
    createdAt: room.createdAt.toISOString(),
    lastReadSeq,
    unreadCount: lastReadSeq === null ? null : Math.max(0, room.lastSeq - lastReadSeq),
  };
}

export function toRoomPageResponse(page: Page<VisibleRoom>): RoomPageResponseDto {
  return { items: page.items.map(toRoomResponse), nextCursor: page.nextCursor };
}

export function toReadPositionResponse(position: ReadPosition): ReadPositionResponseDto {
  return {
    roomId: position.roomId,
    lastReadSeq: position.lastReadSeq,
    unreadCount: Math.max(0, position.lastSeq - position.lastReadSeq),
  };
}

export function toRoomMemberResponse(profile: RoomMemberProfile): RoomMemberResponseDto {
  return {
    user: toUserResponse(profile.user),
    role: profile.isOwner ? RoomMemberRole.Owner : RoomMemberRole.Member,
    joinedAt: profile.member.joinedAt.toISOString(),
  };
}

export function toRoomMemberPageResponse(page: Page<RoomMemberProfile>): RoomMemberPageResponseDto {
  return { items: page.items.map(toRoomMemberResponse), nextCursor: page.nextCursor };
}
