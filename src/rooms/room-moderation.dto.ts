import { ApiProperty } from '@nestjs/swagger';
import { IsId } from '@app/common/validation/canonical-id';
import { Page } from '@app/common/pagination/pagination';
import { MAX_PAGE_LIMIT, NEXT_CURSOR_SCHEMA } from '@app/common/pagination/page-query.dto';
import { TIMESTAMP_SCHEMA, UUID_SCHEMA } from '@app/openapi/api-schemas';
import { toUserResponse, UserResponseDto } from '@app/users/users.dto';
import { RoomBanProfile } from './room-moderation.service';

export class TransferRoomOwnershipRequestDto {
  /** The new owner: a member of the room. */
  @ApiProperty(UUID_SCHEMA)
  @IsId()
  userId: string;
}

export class RoomBanResponseDto {
  user: UserResponseDto;
  @ApiProperty(TIMESTAMP_SCHEMA)
  bannedAt: string;
}

export class RoomBanPageResponseDto {
  @ApiProperty({ type: [RoomBanResponseDto], maxItems: MAX_PAGE_LIMIT })
  items: RoomBanResponseDto[];
  /** Pass as `cursor` for the next page; null on the last page. */
  @ApiProperty(NEXT_CURSOR_SCHEMA)
  nextCursor: string | null;
}

export function toRoomBanPageResponse(page: Page<RoomBanProfile>): RoomBanPageResponseDto {
  return {
    items: page.items.map(({ ban, user }) => ({
      user: toUserResponse(user),
      bannedAt: ban.bannedAt.toISOString(),
    })),
    nextCursor: page.nextCursor,
  };
}
