import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { AppError } from '@app/common/errors/app-error';
import {
  decodeCursor,
  encodeCursor,
  isRecord,
  Page,
  pageOf,
} from '@app/common/pagination/pagination';
import { RequestValidationError } from '@app/common/validation/request-validation.error';
import { DeliveryAudience, RoomSequence } from '@app/rooms/room-sequence';
import { RoomsService } from '@app/rooms/rooms.service';
import { UsersService } from '@app/users/users.service';
import { MessageEvents } from './message-events';
import { Message } from './message.entity';
import { toMessageResponse } from './messages.dto';
import { AppendResult, MessagesRepository, NewMessage } from './messages.repository';

export interface HistoryRequest {
  after?: number;
  before?: number;
  limit: number;
  cursor?: string;
}

/** Where the next page of a history read goes on from. */
interface HistoryCursor {
  direction: 'forward' | 'backward';
  after?: number;
  before?: number;
}

@Injectable()
export class MessagesService {
  private readonly logger = new Logger(MessagesService.name);

  constructor(
    private readonly messages: MessagesRepository,
    private readonly rooms: RoomsService,
    private readonly users: UsersService,
    private readonly events: MessageEvents,
    private readonly sequence: RoomSequence,
  ) {}

  /**
   * The one write path of a message, for REST and WebSocket alike. Resolves with the message
   * once it is committed (so an ack after this loses nothing on a crash), with the room's next
   * seq. With a `clientMsgId` that this sender already used in this room, resolves with that
   * first message instead and stores nothing. After the commit, and before it resolves, the
   * cached history and room are invalidated (on every instance); then each newly stored message
   * is published through `MessageEvents`, so that whoever receives it live and reads the
   * history finds it there.
   *
   * 404 when the room does not exist or is private or direct and the sender is not a member;
   * 403 `not_a_member` for a public room the sender has not joined; 401 when the sender's user
   * no longer exists.
   */
  async post(
    senderId: string,
    roomId: string,
    body: string,
    clientMsgId: string | null = null,
  ): Promise<Message> {
    const message = (): NewMessage => ({
      id: randomUUID(),
      roomId,
      senderId,
      body,
      clientMsgId,
      createdAt: new Date(),
      kind: 'message',
      messageId: null,
      editedAt: null,
      deletedAt: null,
    });
    let result = await this.messages.append(message());
    if (result.outcome === 'refused') {
      // Say why: 404 or 403. Should the sender have become a member meanwhile, try once more.
      await this.rooms.assertMember(senderId, roomId);
      result = await this.messages.append(message());
    }
    return this.settle(roomId, result);
  }

  /**
   * A private message: through the direct room of the two users, made on first use (also when
   * both write first at the same moment), then as `post`.
   */
  async postPrivate(
    senderId: string,
    recipientId: string,
    body: string,
    clientMsgId: string | null = null,
  ): Promise<Message> {
    if (senderId === recipientId) {
      throw new AppError('cannot_message_self', 'A private message needs another user');
    }
    await this.users.getUser(recipientId);
    const room = await this.rooms.getOrCreateDirectRoom(senderId, recipientId);
    return this.post(senderId, room.id, body, clientMsgId);
  }

  /** A page of a room's history by seq, oldest first within the page. */
  async listRoomMessages(
    userId: string,
    roomId: string,
    request: HistoryRequest,
  ): Promise<Page<Message>> {
    await this.rooms.assertReadable(userId, roomId);
    const position = historyPosition(request);
    const { limit } = request;
    if (position.direction === 'forward') {
      const rows = await this.messages.listRange(
        roomId,
        { after: position.after, before: position.before, newestFirst: false },
        limit + 1,
      );
      return pageOf(rows, limit, (last): HistoryCursor => ({ ...position, after: last.seq }));
    }
    const rows = await this.messages.listRange(
      roomId,
      { before: position.before, newestFirst: true },
      limit + 1,
    );
    const items = rows.slice(0, limit).reverse();
    const oldest = items[0];
    const cursor: HistoryCursor | undefined = oldest && {
      direction: 'backward',
      before: oldest.seq,
    };
    return {
      items,
      nextCursor: rows.length > limit && cursor ? encodeCursor(cursor) : null,
    };
  }

  /** A room's newest entries, newest first, whoever asks: for the operator console only. */
  latestEntries(roomId: string, limit: number): Promise<Message[]> {
    return this.messages.listRange(roomId, { newestFirst: true }, limit);
  }

  private async settle(roomId: string, result: AppendResult): Promise<Message> {
    if (result.outcome === 'refused') {
      throw new AppError('not_a_member', 'Join the room first');
    }
    if (result.outcome === 'existing' && result.message.kind !== 'message') {
      throw new AppError('conflict', 'This clientMsgId was used for another entry of the room');
    }
    // Also for a retry: the first attempt may have died between its commit and this.
    await this.sequence.messagesStored(roomId);
    if (result.outcome === 'created') {
      this.publish(result.message, result.audience);
    }
    return result.message;
  }

  /** The message is committed whatever happens here: a failing publisher must not fail it. */
  private publish(message: Message, audience: DeliveryAudience): void {
    try {
      this.events.messageCommitted(toMessageResponse(message), audience);
    } catch (error) {
      this.logger.error(error instanceof Error ? error : String(error));
    }
  }
}

function historyPosition(request: HistoryRequest): HistoryCursor {
  if (request.cursor !== undefined) {
    if (request.after !== undefined || request.before !== undefined) {
      throw new RequestValidationError([
        { field: 'cursor', message: 'cursor cannot be combined with after or before' },
      ]);
    }
    return decodeCursor(request.cursor, isHistoryCursor);
  }
  if (request.before !== undefined && request.after === undefined) {
    return { direction: 'backward', before: request.before };
  }
  return { direction: 'forward', after: request.after ?? 0, before: request.before };
}

function isHistoryCursor(value: unknown): value is HistoryCursor {
  if (!isRecord(value)) {
    return false;
  }
  const isSeq = (seq: unknown) =>
    seq === undefined || (Number.isSafeInteger(seq) && (seq as number) >= 0);
  return (
    (value.direction === 'forward' || value.direction === 'backward') &&
    isSeq(value.after) &&
    isSeq(value.before) &&
    (value.direction === 'forward' || value.before !== undefined)
  );
}
