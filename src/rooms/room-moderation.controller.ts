import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  Put,
  Query,
} from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AuthenticatedUser } from '@app/auth/authenticated-user';
import { Authenticated, CurrentUser } from '@app/auth/authenticated.decorator';
import { PageQueryDto } from '@app/common/pagination/page-query.dto';
import { ParseIdPipe } from '@app/common/validation/canonical-id';
import { ApiErrors } from '@app/openapi/api-errors.decorator';
import {
  RoomBanPageResponseDto,
  toRoomBanPageResponse,
  TransferRoomOwnershipRequestDto,
} from './room-moderation.dto';
import { RoomModerationService } from './room-moderation.service';

/**
 * The owner's routes: every one is 403 to anyone else, and 404 for a private room the caller
 * cannot see. A removed or banned user's connections leave the room at once, on every instance.
 */
@Controller('rooms')
@ApiTags('rooms')
@Authenticated()
@ApiErrors(
  HttpStatus.BAD_REQUEST,
  HttpStatus.TOO_MANY_REQUESTS,
  HttpStatus.FORBIDDEN,
  HttpStatus.NOT_FOUND,
)
export class RoomModerationController {
  constructor(private readonly moderation: RoomModerationService) {}

  /** Removes a member; removing a non-member changes nothing. The owner cannot remove themselves (409). */
  @Delete(':id/members/:userId')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiErrors(HttpStatus.CONFLICT)
  async removeRoomMember(
    @CurrentUser() caller: AuthenticatedUser,
    @Param('id', ParseIdPipe) id: string,
    @Param('userId', ParseIdPipe) userId: string,
  ): Promise<void> {
    await this.moderation.removeMember(caller.id, id, userId);
  }

  /**
   * Bans a user: removed, and cannot join or be added again until the ban is lifted (403 `banned`).
   * Banning again changes nothing; the owner cannot be banned (409). 404 for a user that does not exist.
   */
  @Put(':id/bans/:userId')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiErrors(HttpStatus.CONFLICT)
  async banRoomUser(
    @CurrentUser() caller: AuthenticatedUser,
    @Param('id', ParseIdPipe) id: string,
    @Param('userId', ParseIdPipe) userId: string,
  ): Promise<void> {
    await this.moderation.banUser(caller.id, id, userId);
  }

  /** Lifts a ban; lifting one that does not exist changes nothing. */
  @Delete(':id/bans/:userId')
  @HttpCode(HttpStatus.NO_CONTENT)
  async unbanRoomUser(
    @CurrentUser() caller: AuthenticatedUser,
    @Param('id', ParseIdPipe) id: string,
    @Param('userId', ParseIdPipe) userId: string,
  ): Promise<void> {
    await this.moderation.unbanUser(caller.id, id, userId);
  }

  /** The room's bans, oldest first. */
  @Get(':id/bans')
  async listRoomBans(
    @CurrentUser() caller: AuthenticatedUser,
    @Param('id', ParseIdPipe) id: string,
    @Query() query: PageQueryDto,
  ): Promise<RoomBanPageResponseDto> {
    return toRoomBanPageResponse(await this.moderation.listBans(caller.id, id, query));
  }

  /**
   * Hands the room to another member (409 for a non-member), who moderates it from then on; the
   * caller stays a plain member. Read the room for its new `ownerId`.
   */
  @Put(':id/owner')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiErrors(HttpStatus.CONFLICT, HttpStatus.PAYLOAD_TOO_LARGE, HttpStatus.UNSUPPORTED_MEDIA_TYPE)
  async transferRoomOwnership(
    @CurrentUser() caller: AuthenticatedUser,
    @Param('id', ParseIdPipe) id: string,
    @Body() request: TransferRoomOwnershipRequestDto,
  ): Promise<void> {
    await this.moderation.transferOwnership(caller.id, id, request.userId);
  }
}
