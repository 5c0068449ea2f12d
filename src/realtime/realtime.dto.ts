import { ACCESS_TOKEN_MAX_LENGTH } from '@libs/protocol';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Length, Max, Min } from 'class-validator';
import { IsId } from '@app/common/validation/canonical-id';
import { MAX_PAGE_LIMIT } from '@app/common/pagination/page-query.dto';
import { PostMessageRequestDto } from '@app/messages/messages.dto';
import { MarkRoomReadRequestDto } from '@app/rooms/rooms.dto';

// The frames of the WebSocket protocol, validated by the same rules as their REST routes.

/** `join {roomId}`, `leave {roomId}` and `typing {roomId}`. */
export class RoomFrameDto {
  @IsId()
  roomId: string;
}

/** `send {roomId, body, clientMsgId?}`: as `POST /api/rooms/:id/messages`. */
export class SendFrameDto extends PostMessageRequestDto {
  @IsId()
  roomId: string;
}

/** `dm {userId, body, clientMsgId?}`: as `POST /api/users/:id/messages`. */
export class DirectMessageFrameDto extends PostMessageRequestDto {
  @IsId()
  userId: string;
}

/** `edit {roomId, messageId, body, clientMsgId?}`: as `PATCH /api/rooms/:id/messages/:messageId`. */
export class EditFrameDto extends PostMessageRequestDto {
  @IsId()
  roomId: string;

  @IsId()
  messageId: string;
}

/** `delete {roomId, messageId}`: as `DELETE /api/rooms/:id/messages/:messageId`. */
export class DeleteFrameDto {
  @IsId()
  roomId: string;

  @IsId()
  messageId: string;
}

/** `sync {roomId, afterSeq, limit?}`: the messages after `afterSeq`, oldest first. */
export class SyncFrameDto {
  @IsId()
  roomId: string;

  @Type(() => Number)
  @IsInt()
  @Min(0)
  afterSeq: number;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE_LIMIT)
  limit?: number;
}

/** `auth {token}`: a fresh access token for a connection whose token is about to expire. */
export class AuthFrameDto {
  @IsString()
  @Length(1, ACCESS_TOKEN_MAX_LENGTH)
  token: string;
}

/** `ping {}`. */
export class PingFrameDto {}

/** `read {roomId, seq}`: as `PUT /api/rooms/:id/read`. */
export class ReadFrameDto extends MarkRoomReadRequestDto {
  @IsId()
  roomId: string;
}
