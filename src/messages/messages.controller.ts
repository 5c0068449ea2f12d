import {
  Body,
  Controller,
  Delete,
  Get,
  HttpStatus,
  Param,
  Patch,
  Post,
  Query,
} from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ParseIdPipe } from '@app/common/validation/canonical-id';
import { ApiErrors } from '@app/openapi/api-errors.decorator';
import { AuthenticatedUser } from '@app/auth/authenticated-user';
import { Authenticated, CurrentUser } from '@app/auth/authenticated.decorator';
import { CachedRoomRead } from '@app/rooms/cached-room-read.decorator';
import { MessageChangesService } from './message-changes.service';
import {
  EditMessageRequestDto,
  ListRoomMessagesQueryDto,
  MessagePageResponseDto,
  MessageResponseDto,
  PostMessageRequestDto,
  toMessagePageResponse,
  toMessageResponse,
} from './messages.dto';
import { MessagesService } from './messages.service';

@Controller()
@ApiTags('messages')
@Authenticated()
@ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.NOT_FOUND, HttpStatus.TOO_MANY_REQUESTS)
export class MessagesController {
  constructor(
    private readonly messages: MessagesService,
    private readonly changes: MessageChangesService,
  ) {}

  /** A room's history by seq, oldest first; 404 to non-members of a private or direct room. */
  @Get('rooms/:id/messages')
  @CachedRoomRead('messages')
  async listRoomMessages(
    @CurrentUser() caller: AuthenticatedUser,
    @Param('id', ParseIdPipe) id: string,
    @Query() query: ListRoomMessagesQueryDto,
  ): Promise<MessagePageResponseDto> {
    return toMessagePageResponse(await this.messages.listRoomMessages(caller.id, id, query));
  }

  /** Posts to a room the caller is a member of; 201 once the message is committed. */
  @Post('rooms/:id/messages')
  @ApiErrors(HttpStatus.FORBIDDEN, HttpStatus.PAYLOAD_TOO_LARGE, HttpStatus.UNSUPPORTED_MEDIA_TYPE)
  async postRoomMessage(
    @CurrentUser() caller: AuthenticatedUser,
    @Param('id', ParseIdPipe) id: string,
    @Body() request: PostMessageRequestDto,
  ): Promise<MessageResponseDto> {
    return toMessageResponse(
      await this.messages.post(caller.id, id, request.body, request.clientMsgId ?? null),
    );
  }

  /**
   * The sender edits a message: answers the `edit` entry, with the room's next seq, once it is
   * committed; the message shows the new text and `editedAt`. 409 for a deleted message.
   */
  @Patch('rooms/:id/messages/:messageId')
  @ApiErrors(
    HttpStatus.FORBIDDEN,
    HttpStatus.CONFLICT,
    HttpStatus.PAYLOAD_TOO_LARGE,
    HttpStatus.UNSUPPORTED_MEDIA_TYPE,
  )
  async editRoomMessage(
    @CurrentUser() caller: AuthenticatedUser,
    @Param('id', ParseIdPipe) id: string,
    @Param('messageId', ParseIdPipe) messageId: string,
    @Body() request: EditMessageRequestDto,
  ): Promise<MessageResponseDto> {
    return toMessageResponse(
      await this.changes.editMessage(
        caller.id,
        id,
        messageId,
        request.body,
        request.clientMsgId ?? null,
      ),
    );
  }

  /**
   * The sender or the room's owner deletes a message: answers the `delete` entry, with the room's
   * next seq; the message becomes a tombstone whose text is erased from storage. Deleting it again
   * stores nothing and answers the first `delete` entry.
   */
  @Delete('rooms/:id/messages/:messageId')
  @ApiErrors(HttpStatus.FORBIDDEN)
  async deleteRoomMessage(
    @CurrentUser() caller: AuthenticatedUser,
    @Param('id', ParseIdPipe) id: string,
    @Param('messageId', ParseIdPipe) messageId: string,
  ): Promise<MessageResponseDto> {
    return toMessageResponse(await this.changes.deleteMessage(caller.id, id, messageId));
  }

  /** A private message to a user, in the direct room of the two, made on first use. */
  @Post('users/:id/messages')
  @ApiErrors(HttpStatus.PAYLOAD_TOO_LARGE, HttpStatus.UNSUPPORTED_MEDIA_TYPE)
  async postPrivateMessage(
    @CurrentUser() caller: AuthenticatedUser,
    @Param('id', ParseIdPipe) id: string,
    @Body() request: PostMessageRequestDto,
  ): Promise<MessageResponseDto> {
    return toMessageResponse(
      await this.messages.postPrivate(caller.id, id, request.body, request.clientMsgId ?? null),
    );
  }
}
