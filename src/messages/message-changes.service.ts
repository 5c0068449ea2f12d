import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { AppError } from '@app/common/errors/app-error';
import { RoomSequence } from '@app/rooms/room-sequence';
import { RoomsService } from '@app/rooms/rooms.service';
import {
  ChangeRefusal,
  ChangeResult,
  MessageChange,
  MessageChangesRepository,
} from './message-changes.repository';
import { MessageEvents } from './message-events';
import { Message } from './message.entity';
import { toMessageResponse } from './messages.dto';

const REFUSALS: Record<ChangeRefusal, ConstructorParameters<typeof AppError>> = {
  not_member: ['not_a_member', 'Join the room first'],
  no_message: ['not_found', 'Message not found'],
  not_allowed: ['forbidden', "Only the message's sender (or, to delete it, the room's owner) can"],
  deleted: ['conflict', 'The message was deleted'],
  key_reused: ['conflict', 'This clientMsgId was used for another entry of the room'],
};

/**
 * Edits and deletes of messages, for REST and WebSocket alike. Each is an entry of the room's
 * sequence (`edit` or `delete`, with the room's next seq) committed with the change to its
 * message; then, as for a message, the room's cached history and details are invalidated and
 * the entry is published live (as `edited` or `deleted`).
 *
 * 404 when the room is not visible to the caller, or the message is not one of the room's
 * messages; 403 `not_a_member` for a public room the caller has not joined, `forbidden` when the
 * caller may not make the change; 409 `conflict` for an edit of a deleted message or a clientMsgId
 * used for another entry.
 */
@Injectable()
export class MessageChangesService {
  private readonly logger = new Logger(MessageChangesService.name);

  constructor(
    private readonly changes: MessageChangesRepository,
    private readonly rooms: RoomsService,
    private readonly events: MessageEvents,
    private readonly sequence: RoomSequence,
  ) {}

  /**
   * Only the sender edits. The same clientMsgId again (a retry) answers the first edit entry.
   * Resolves with the `edit` entry once committed.
   */
  editMessage(
    editorId: string,
    roomId: string,
    messageId: string,
    body: string,
    clientMsgId: string | null = null,
  ): Promise<Message> {
    return this.change({ kind: 'edit', senderId: editorId, roomId, messageId, body, clientMsgId });
  }

  /**
   * The sender or the room's owner deletes: the message becomes a tombstone whose text (and the
   * text of its edits) is erased from storage. Deleting it again stores nothing and answers the
   * first `delete` entry.
   */
  deleteMessage(callerId: string, roomId: string, messageId: string): Promise<Message> {
    return this.change({
      kind: 'delete',
      senderId: callerId,
      roomId,
      messageId,
      body: '',
      clientMsgId: null,
    });
  }

  private async change(request: Omit<MessageChange, 'id' | 'createdAt'>): Promise<Message> {
    const change = (): MessageChange => ({ ...request, id: randomUUID(), createdAt: new Date() });
    let result = await this.changes.apply(change());
    if (result.outcome === 'refused' && result.reason === 'not_member') {
      // Say why: 404 or 403. Should the caller have become a member meanwhile, try once more.
      await this.rooms.assertMember(request.senderId, request.roomId);
      result = await this.changes.apply(change());
    }
    return this.settle(request.roomId, result);
  }

  private async settle(roomId: string, result: ChangeResult): Promise<Message> {
    if (result.outcome === 'refused') {
      throw new AppError(...REFUSALS[result.reason]);
    }
    // Also for a retry: the first attempt may have died between its commit and this.
    await this.sequence.messagesStored(roomId);
    if (result.outcome === 'created') {
      try {
        this.events.messageCommitted(toMessageResponse(result.entry), result.audience);
      } catch (error) {
        // The entry is committed whatever happens here: a failing publisher must not fail it.
        this.logger.error(error instanceof Error ? error : String(error));
      }
    }
    return result.entry;
  }
}
