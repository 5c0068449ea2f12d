import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  Post,
  Put,
  Query,
} from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ParseIdPipe } from '@app/common/validation/canonical-id';
import { ApiErrors } from '@app/openapi/api-errors.decorator';
import { AuthenticatedUser } from '@app/auth/authenticated-user';
import { Authenticated, CurrentUser } from '@app/auth/authenticated.decorator';
import { PageQueryDto } from '@app/common/pagination/page-query.dto';
import {
  AddRoomMemberRequestDto,
  CreateRoomRequestDto,
  MarkRoomReadRequestDto,
  ReadPositionResponseDto,
  toReadPositionResponse,
  RoomMemberPageResponseDto,
  RoomMemberResponseDto,
  RoomPageResponseDto,
  RoomResponseDto,
  toRoomMemberPageResponse,
  toRoomMemberResponse,
  toRoomPageResponse,
  toRoomResponse,
} from './rooms.dto';
import { CachedRoomRead } from './cached-room-read.decorator';
import { ReadPositionsService } from './read-positions.service';
import { RoomsService } from './rooms.service';

/** A private or direct room is 404 to non-members on every route, as if it did not exist. */
@Controller('rooms')
@ApiTags('rooms')
@Authenticated()
@ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.TOO_MANY_REQUESTS)
export class RoomsController {
  constructor(
    private readonly rooms: RoomsService,
    private readonly readPositions: ReadPositionsService,
  ) {}

  /** Creates a room; the caller is its owner and first member. */
  @Post()
  @ApiErrors(HttpStatus.PAYLOAD_TOO_LARGE, HttpStatus.UNSUPPORTED_MEDIA_TYPE)
  async createRoom(
    @CurrentUser() caller: AuthenticatedUser,
    @Body() request: CreateRoomRequestDto,
  ): Promise<RoomResponseDto> {
    return toRoomResponse({
      room: await this.rooms.createRoom(caller.id, request),
      lastReadSeq: 0,
    });
  }

  /** Public rooms and the caller's rooms (direct ones included), oldest first. */
  @Get()
  async listRooms(
    @CurrentUser() caller: AuthenticatedUser,
    @Query() query: PageQueryDto,
  ): Promise<RoomPageResponseDto> {
    return toRoomPageResponse(await this.rooms.listRooms(caller.id, query));
  }

  /** One room: public ones to anyone, private and direct ones to their members. */
  @Get(':id')
  @CachedRoomRead('details')
  async getRoom(
    @CurrentUser() caller: AuthenticatedUser,
    @Param('id', ParseIdPipe) id: string,
  ): Promise<RoomResponseDto> {
    return toRoomResponse(await this.rooms.getRoom(caller.id, id));
  }

  /** Deletes the room with its members and messages; owner only. */
  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiErrors(HttpStatus.FORBIDDEN, HttpStatus.NOT_FOUND)
  async deleteRoom(
    @CurrentUser() caller: AuthenticatedUser,
    @Param('id', ParseIdPipe) id: string,
  ): Promise<void> {
    await this.rooms.deleteRoom(caller.id, id);
  }

  /** Joins a public room; joining again changes nothing. */
  @Put(':id/members/me')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiErrors(HttpStatus.NOT_FOUND)
  async joinRoom(
    @CurrentUser() caller: AuthenticatedUser,
    @Param('id', ParseIdPipe) id: string,
  ): Promise<void> {
    await this.rooms.joinRoom(caller.id, id);
  }

  /** Leaves a room; the owner cannot (409), and deletes it instead. */
  @Delete(':id/members/me')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiErrors(HttpStatus.NOT_FOUND, HttpStatus.CONFLICT)
  async leaveRoom(
    @CurrentUser() caller: AuthenticatedUser,
    @Param('id', ParseIdPipe) id: string,
  ): Promise<void> {
    await this.rooms.leaveRoom(caller.id, id);
  }

  /** The owner adds a member: the way into a private room. Adding a member again changes nothing. */
  @Post(':id/members')
  @ApiErrors(
    HttpStatus.FORBIDDEN,
    HttpStatus.NOT_FOUND,
    HttpStatus.PAYLOAD_TOO_LARGE,
    HttpStatus.UNSUPPORTED_MEDIA_TYPE,
  )
  async addRoomMember(
    @CurrentUser() caller: AuthenticatedUser,
    @Param('id', ParseIdPipe) id: string,
    @Body() request: AddRoomMemberRequestDto,
  ): Promise<RoomMemberResponseDto> {
    return toRoomMemberResponse(await this.rooms.addMember(caller.id, id, request.userId));
  }

  /**
   * Marks the room read up to `seq` for the caller, a member: clamped to the room's `lastSeq`, and
   * never moved back. Answers once stored; marks in a burst share one write per second.
   */
  @Put(':id/read')
  @ApiErrors(
    HttpStatus.FORBIDDEN,
    HttpStatus.NOT_FOUND,
    HttpStatus.PAYLOAD_TOO_LARGE,
    HttpStatus.UNSUPPORTED_MEDIA_TYPE,
  )
  async markRoomRead(
    @CurrentUser() caller: AuthenticatedUser,
    @Param('id', ParseIdPipe) id: string,
    @Body() request: MarkRoomReadRequestDto,
  ): Promise<ReadPositionResponseDto> {
    const stored = await this.readPositions.markRead(caller.id, id, request.seq);
    return toReadPositionResponse(await stored());
  }

  /** The room's members in the order they joined. */
  @Get(':id/members')
  @CachedRoomRead('members')
  async listRoomMembers(
    @CurrentUser() caller: AuthenticatedUser,
    @Param('id', ParseIdPipe) id: string,
    @Query() query: PageQueryDto,
  ): Promise<RoomMemberPageResponseDto> {
    return toRoomMemberPageResponse(await this.rooms.listMembers(caller.id, id, query));
  }
}
