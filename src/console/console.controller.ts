import { Controller, Delete, Get, Header, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AuthenticatedUser } from '@app/auth/authenticated-user';
import { Authenticated, CurrentUser } from '@app/auth/authenticated.decorator';
import { ParseIdPipe } from '@app/common/validation/canonical-id';
import { ApiErrors } from '@app/openapi/api-errors.decorator';
import { ConsoleOperators } from './console-operators';
import {
  ConsoleRoomResponseDto,
  DisconnectUserResponseDto,
  FleetViewResponseDto,
  toConsoleRoomResponse,
  toDisconnectUserResponse,
} from './console.dto';
import { ConsoleService } from './console.service';
import { FleetFigures } from './fleet-figures';

/**
 * The operator console's routes (the page at `/console` calls them): for the users named in
 * CONSOLE_USERS only (403 `not_operator` for anyone else), and 404 while nobody is named. Never
 * cached anywhere: every answer is `Cache-Control: no-store`.
 */
@Controller('console')
@ApiTags('console')
@Authenticated()
@ApiErrors(HttpStatus.FORBIDDEN, HttpStatus.NOT_FOUND, HttpStatus.TOO_MANY_REQUESTS)
export class ConsoleController {
  constructor(
    private readonly operators: ConsoleOperators,
    private readonly fleet: FleetFigures,
    private readonly console: ConsoleService,
  ) {}

  /** Every instance of the fleet with its figures, as its last report gave them. */
  @Get('fleet')
  @Header('Cache-Control', 'no-store')
  async getConsoleFleet(@CurrentUser() caller: AuthenticatedUser): Promise<FleetViewResponseDto> {
    await this.operators.assertOperator(caller.id);
    return this.fleet.view();
  }

  /** A room with its live members (asked of every instance) and its newest entries' seq. */
  @Get('rooms/:roomId')
  @Header('Cache-Control', 'no-store')
  @ApiErrors(HttpStatus.BAD_REQUEST)
  async getConsoleRoom(
    @CurrentUser() caller: AuthenticatedUser,
    @Param('roomId', ParseIdPipe) roomId: string,
  ): Promise<ConsoleRoomResponseDto> {
    await this.operators.assertOperator(caller.id);
    return toConsoleRoomResponse(await this.console.viewRoom(roomId));
  }

  /**
   * Closes every connection of the user on every instance, with 1008 (the typed client does not
   * reconnect after it). Audited in the log.
   */
  @Post('users/:userId/disconnect')
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  @ApiErrors(HttpStatus.BAD_REQUEST)
  async disconnectConsoleUser(
    @CurrentUser() caller: AuthenticatedUser,
    @Param('userId', ParseIdPipe) userId: string,
  ): Promise<DisconnectUserResponseDto> {
    await this.operators.assertOperator(caller.id);
    return toDisconnectUserResponse(await this.console.disconnectUser(caller.id, userId));
  }

  /**
   * Removes a member from the room, as its owner would: `left` on every instance, and a private
   * room is 404 to them from then on. The owner cannot be removed (409). Audited in the log.
   */
  @Delete('rooms/:roomId/members/:userId')
  @HttpCode(HttpStatus.NO_CONTENT)
  @Header('Cache-Control', 'no-store')
  @ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.CONFLICT)
  async removeConsoleRoomMember(
    @CurrentUser() caller: AuthenticatedUser,
    @Param('roomId', ParseIdPipe) roomId: string,
    @Param('userId', ParseIdPipe) userId: string,
  ): Promise<void> {
    await this.operators.assertOperator(caller.id);
    await this.console.removeMember(caller.id, roomId, userId);
  }
}
