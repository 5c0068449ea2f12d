import { Logger, OnModuleDestroy, UseFilters, UsePipes } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  WsResponse,
} from '@nestjs/websockets';
import { CloseCode, ServerEventMap } from '@libs/protocol';
import { AccessTokensService } from '@app/auth/access-tokens.service';
import { ConsoleOperators } from '@app/console/console-operators';
import { FleetFigures } from '@app/console/fleet-figures';
import { DEFAULT_PAGE_LIMIT } from '@app/common/pagination/page-query.dto';
import { CompiledRequestSchemas } from '@app/common/validation/compiled-request-schemas';
import { createValidationPipe } from '@app/common/validation/validation.pipe';
import { toMessageResponse } from '@app/messages/messages.dto';
import { MessageChangesService } from '@app/messages/message-changes.service';
import { MessagesService } from '@app/messages/messages.service';
import { ReadPositionsService } from '@app/rooms/read-positions.service';
import { RoomsService } from '@app/rooms/rooms.service';
import { ConnectionRegistry } from './connection-registry';
import { RealtimeExceptionFilter } from './realtime-exception.filter';
import { RealtimeConnection } from './realtime-connection';
import { RealtimeSessions } from './realtime-sessions';
import {
  AuthFrameDto,
  DeleteFrameDto,
  DirectMessageFrameDto,
  EditFrameDto,
  PingFrameDto,
  ReadFrameDto,
  RoomFrameDto,
  SendFrameDto,
  SyncFrameDto,
} from './realtime.dto';
import { RealtimeError } from './realtime.error';
import { TypingIndicators } from './typing-indicators';
import { UpgradeAuthenticator } from './upgrade-authenticator';

/**
 * The frames a client sends to `/ws`, one handler each: validate the frame with the REST DTO
 * rules, call one service method, answer. Connections arrive authenticated (UpgradeAuthenticator)
 * and their lifecycle belongs to RealtimeWsAdapter and RealtimeSessions. Each handler takes the
 * checked frame and its connection; `FrameRoutes` calls them with this class's pipe and filter.
 */
@WebSocketGateway({ path: '/ws' })
@UseFilters(RealtimeExceptionFilter)
// Frames are checked by compiled schemas of their DTOs where the rules allow (see the pipe).
@UsePipes(createValidationPipe(new CompiledRequestSchemas()))
export class RealtimeGateway implements OnModuleDestroy {
  private readonly logger = new Logger(RealtimeGateway.name);

  constructor(
    private readonly registry: ConnectionRegistry,
    private readonly sessions: RealtimeSessions,
    private readonly accessTokens: AccessTokensService,
    private readonly rooms: RoomsService,
    private readonly messages: MessagesService,
    private readonly authenticator: UpgradeAuthenticator,
    private readonly readPositions: ReadPositionsService,
    private readonly typingIndicators: TypingIndicators,
    private readonly changes: MessageChangesService,
    private readonly operators: ConsoleOperators,
    private readonly fleet: FleetFigures,
  ) {}

  /** Draining: no new upgrades, and every client is told to reconnect elsewhere. */
  onModuleDestroy(): void {
    this.authenticator.stopAccepting();
    this.registry.closeAll(CloseCode.GoingAway, 'Server shutting down');
  }

  @SubscribeMessage('ping')
  ping(@MessageBody() _frame: PingFrameDto): WsResponse<ServerEventMap['pong']> {
    return { event: 'pong', data: {} };
  }

  /**
   * Live messages of a room from now on; a public room is joined as a member first. Membership
   * is checked again once the connection is in the room: a leave that committed in between found
   * nothing to revoke. `lastSeq` is read after the connection is in the room here and on the
   * relay, so `sync` from it misses nothing.
   */
  @SubscribeMessage('join')
  async joinRoom(
    @MessageBody() frame: RoomFrameDto,
    @ConnectedSocket() connection: RealtimeConnection,
  ): Promise<WsResponse<ServerEventMap['joined']>> {
    const userId = open(connection).user.id;
    await this.rooms.joinRoom(userId, frame.roomId);
    const entered = await this.sessions.enterRoom(connection, frame.roomId, () =>
      this.rooms.isMember(userId, frame.roomId),
    );
    if (entered === 'closed') {
      throw closing();
    }
    if (entered === 'refused') {
      throw new RealtimeError('not_found', 'Room not found');
    }
    const { roomId, lastSeq } = await this.rooms.sequencePosition(frame.roomId);
    return { event: 'joined', data: { roomId, lastSeq } };
  }

  /** No more live messages of the room on this connection; the membership stays (REST leaves it). */
  @SubscribeMessage('leave')
  leaveRoom(
    @MessageBody() frame: RoomFrameDto,
    @ConnectedSocket() connection: RealtimeConnection,
  ): WsResponse<ServerEventMap['left']> {
    this.sessions.exitRoom(open(connection), frame.roomId);
    return { event: 'left', data: { roomId: frame.roomId } };
  }

  @SubscribeMessage('send')
  async sendMessage(
    @MessageBody() frame: SendFrameDto,
    @ConnectedSocket() connection: RealtimeConnection,
  ): Promise<WsResponse<ServerEventMap['ack']>> {
    const { user } = open(connection);
    const message = await this.messages.post(user.id, frame.roomId, frame.body, frame.clientMsgId);
    return { event: 'ack', data: ackOf(message) };
  }

  /** A private message through the direct room of the two users, as `POST /api/users/:id/messages`. */
  @SubscribeMessage('dm')
  async sendPrivateMessage(
    @MessageBody() frame: DirectMessageFrameDto,
    @ConnectedSocket() connection: RealtimeConnection,
  ): Promise<WsResponse<ServerEventMap['ack']>> {
    const { user } = open(connection);
    const message = await this.messages.postPrivate(
      user.id,
      frame.userId,
      frame.body,
      frame.clientMsgId,
    );
    return { event: 'ack', data: ackOf(message) };
  }

  /** As `PATCH /api/rooms/:id/messages/:messageId`: `ack` of the edit entry. */
  @SubscribeMessage('edit')
  async editMessage(
    @MessageBody() frame: EditFrameDto,
    @ConnectedSocket() connection: RealtimeConnection,
  ): Promise<WsResponse<ServerEventMap['ack']>> {
    const { user } = open(connection);
    const entry = await this.changes.editMessage(
      user.id,
      frame.roomId,
      frame.messageId,
      frame.body,
      frame.clientMsgId,
    );
    return { event: 'ack', data: ackOf(entry) };
  }

  /** As `DELETE /api/rooms/:id/messages/:messageId`: `ack` of the delete entry. */
  @SubscribeMessage('delete')
  async deleteMessage(
    @MessageBody() frame: DeleteFrameDto,
    @ConnectedSocket() connection: RealtimeConnection,
  ): Promise<WsResponse<ServerEventMap['ack']>> {
    const { user } = open(connection);
    const entry = await this.changes.deleteMessage(user.id, frame.roomId, frame.messageId);
    return { event: 'ack', data: ackOf(entry) };
  }

  /** The messages after `afterSeq`, oldest first: how a client fills a gap or catches up. */
  @SubscribeMessage('sync')
  async syncRoom(
    @MessageBody() frame: SyncFrameDto,
    @ConnectedSocket() connection: RealtimeConnection,
  ): Promise<WsResponse<ServerEventMap['history']>> {
    const { user } = open(connection);
    const page = await this.messages.listRoomMessages(user.id, frame.roomId, {
      after: frame.afterSeq,
      limit: frame.limit ?? DEFAULT_PAGE_LIMIT,
    });
    return {
      event: 'history',
      data: {
        roomId: frame.roomId,
        messages: page.items.map(toMessageResponse),
        hasMore: page.nextCursor !== null,
      },
    };
  }

  /**
   * Moves the caller's read position, as `PUT /api/rooms/:id/read`; no answer (the room's members
   * hear `read`). Refused at once when the caller is no member; the write itself is not waited
   * for, so that the connection's next frames do not queue behind a coalesced mark.
   */
  @SubscribeMessage('read')
  async markRoomRead(
    @MessageBody() frame: ReadFrameDto,
    @ConnectedSocket() connection: RealtimeConnection,
  ): Promise<undefined> {
    const { user } = open(connection);
    const stored = await this.readPositions.markRead(user.id, frame.roomId, frame.seq);
    stored().catch((error: Error) =>
      this.logger.debug(`A read mark was not stored: ${error.message}`),
    );
    return undefined;
  }

  /**
   * The room's other members are told; no answer (nothing to wait for). Refused (`not_member`)
   * unless the room was joined on this connection; past one per 2 s per room, dropped silently.
   */
  @SubscribeMessage('typing')
  signalTyping(
    @MessageBody() frame: RoomFrameDto,
    @ConnectedSocket() connection: RealtimeConnection,
  ): void {
    this.typingIndicators.typing(open(connection), frame.roomId);
  }

  /**
   * The operator console's live view: `fleet` now and after every instance's report, until
   * `unwatchFleet` or the connection closes. Operators only (CONSOLE_USERS).
   */
  @SubscribeMessage('watchFleet')
  async watchFleet(
    @MessageBody() _frame: PingFrameDto,
    @ConnectedSocket() connection: RealtimeConnection,
  ): Promise<WsResponse<ServerEventMap['fleet']>> {
    await this.operators.assertOperator(open(connection).user.id);
    connection.stopWatchingFleet ??= this.fleet.watch(
      (view) => connection.isOpen && (connection.send('fleet', view), true),
    );
    return { event: 'fleet', data: this.fleet.view() };
  }

  @SubscribeMessage('unwatchFleet')
  unwatchFleet(
    @MessageBody() _frame: PingFrameDto,
    @ConnectedSocket() connection: RealtimeConnection,
  ): void {
    connection.stopWatchingFleet?.();
    connection.stopWatchingFleet = undefined;
  }

  @SubscribeMessage('auth')
  async renewToken(
    @MessageBody() frame: AuthFrameDto,
    @ConnectedSocket() connection: RealtimeConnection,
  ): Promise<WsResponse<ServerEventMap['authed']>> {
    open(connection);
    const user = await this.accessTokens.authenticate(frame.token);
    if (!user) {
      throw new RealtimeError('unauthenticated', 'The token is invalid or expired');
    }
    if (user.id !== connection.user.id) {
      throw new RealtimeError('forbidden', 'The token belongs to another user');
    }
    this.registry.renewed(connection, user);
    return { event: 'authed', data: { expiresAt: user.expiresAt.toISOString() } };
  }
}

/** The frame's connection, unless it is closing: then the frame is refused. */
function open(connection: RealtimeConnection): RealtimeConnection {
  if (!connection.isOpen) {
    throw closing();
  }
  return connection;
}

function closing(): RealtimeError {
  return new RealtimeError('unauthenticated', 'The connection is closing');
}

function ackOf(message: {
  roomId: string;
  id: string;
  seq: number;
  clientMsgId: string | null;
}): ServerEventMap['ack'] {
  return {
    roomId: message.roomId,
    id: message.id,
    seq: message.seq,
    clientMsgId: message.clientMsgId,
  };
}
