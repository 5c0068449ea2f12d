import {
  CLIENT_MESSAGE_ID_MAX_LENGTH,
  MESSAGE_BODY_MAX_LENGTH,
  type RealtimeMessage,
  type RoomEventKind,
} from '@libs/protocol';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Length, Max, Min } from 'class-validator';
import {
  MAX_PAGE_LIMIT,
  NEXT_CURSOR_SCHEMA,
  PageQueryDto,
} from '@app/common/pagination/page-query.dto';
import { Page } from '@app/common/pagination/pagination';
import { Message } from './message.entity';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { SEQ_SCHEMA, TIMESTAMP_SCHEMA, UUID_SCHEMA } from '@app/openapi/api-schemas';

// One source for the limits: the WebSocket protocol (and its AsyncAPI document) states them too.
export { CLIENT_MESSAGE_ID_MAX_LENGTH, MESSAGE_BODY_MAX_LENGTH } from '@libs/protocol';

export class PostMessageRequestDto {
  /** 1 to 4000 characters. */
  @IsString()
  @Length(1, MESSAGE_BODY_MAX_LENGTH)
  body: string;

  /**
   * A key the client picks, 1 to 64 characters, to make a retry safe: the same key from the same
   * sender in the same room stores one message, and a retry gets that message back.
   */
  @IsOptional()
  @IsString()
  @Length(1, CLIENT_MESSAGE_ID_MAX_LENGTH)
  clientMsgId?: string;
}

/**
 * A message's new text. The same clientMsgId again from the same sender in the same room (a
 * retry) answers the first edit entry; one used for another entry is refused with 409.
 */
export class EditMessageRequestDto extends PostMessageRequestDto {}

/**
 * `?after=` alone (or nothing): oldest first from there. `?before=` alone: the newest `limit`
 * messages below it, still oldest first, and `nextCursor` goes further back. Both: the range
 * between, oldest first. A `cursor` carries on the way it was given and takes neither.
 */
export class ListRoomMessagesQueryDto extends PageQueryDto {
  /** Only messages with a greater seq. */
  @ApiPropertyOptional({ type: 'integer', format: 'int64' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  after?: number;

  /** Only messages with a smaller seq. */
  @ApiPropertyOptional({ type: 'integer', format: 'int64' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(Number.MAX_SAFE_INTEGER)
  before?: number;
}

export const ROOM_EVENT_KINDS: readonly RoomEventKind[] = ['message', 'edit', 'delete'];

/**
 * An entry of a room's sequence: a message, or an edit or delete of one (`kind`, `messageId`).
 * The same shape the WebSocket protocol delivers; `implements` keeps the two from drifting apart.
 */
export class MessageResponseDto implements RealtimeMessage {
  @ApiProperty(UUID_SCHEMA)
  id: string;
  @ApiProperty(UUID_SCHEMA)
  roomId: string;
  /** 1, 2, 3 … within the room, with no gap and no repeat. */
  @ApiProperty({ ...SEQ_SCHEMA, minimum: 1 })
  seq: number;
  @ApiProperty(UUID_SCHEMA)
  senderId: string;
  /** The current text; `""` for a deleted message (a tombstone) and for a delete event. */
  @ApiProperty({ minLength: 0, maxLength: MESSAGE_BODY_MAX_LENGTH })
  body: string;
  @ApiProperty({
    type: String,
    nullable: true,
    minLength: 1,
    maxLength: CLIENT_MESSAGE_ID_MAX_LENGTH,
  })
  clientMsgId: string | null;
  @ApiProperty(TIMESTAMP_SCHEMA)
  createdAt: string;
  /** `message`, or an `edit` or `delete` of the message `messageId`. */
  @ApiProperty({ enum: ROOM_EVENT_KINDS, enumName: 'RoomEventKind' })
  kind: RoomEventKind;
  /** The message an edit or delete changes; null for a message. */
  @ApiProperty({ ...UUID_SCHEMA, type: String, nullable: true })
  messageId: string | null;
  /** A message's last edit; null when never edited, and for events. */
  @ApiProperty({ ...TIMESTAMP_SCHEMA, type: String, nullable: true })
  editedAt: string | null;
  /** When a message was deleted (its body is then erased); null otherwise, and for events. */
  @ApiProperty({ ...TIMESTAMP_SCHEMA, type: String, nullable: true })
  deletedAt: string | null;
}

export class MessagePageResponseDto {
  /** Oldest first. */
  @ApiProperty({ type: [MessageResponseDto], maxItems: MAX_PAGE_LIMIT })
  items: MessageResponseDto[];
  /** Pass as `cursor` for the next page; null on the last page. */
  @ApiProperty(NEXT_CURSOR_SCHEMA)
  nextCursor: string | null;
}

export function toMessageResponse(message: Message): MessageResponseDto {
  return {
    id: message.id,
    roomId: message.roomId,
    seq: message.seq,
    senderId: message.senderId,
    body: message.body,
    clientMsgId: message.clientMsgId,
    createdAt: message.createdAt.toISOString(),
    kind: message.kind,
    messageId: message.messageId,
    editedAt: message.editedAt?.toISOString() ?? null,
    deletedAt: message.deletedAt?.toISOString() ?? null,
  };
}

export function toMessagePageResponse(page: Page<Message>): MessagePageResponseDto {
  return { items: page.items.map(toMessageResponse), nextCursor: page.nextCursor };
}
