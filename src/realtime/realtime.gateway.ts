import { IncomingMessage } from 'node:http';
import { Logger, OnModuleDestroy, OnModuleInit, UseFilters, UsePipes } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  OnGatewayConnection,
  OnGatewayDisconnect,
  SubscribeMessage,
  WebSocketGateway,
  WsResponse,
} from '@nestjs/websockets';
import type { WebSocket } from 'ws';
import { CloseCode, ServerEventMap } from '@libs/protocol';
import { AccessTokensService } from '@app/auth/access-tokens.service';
import { DEFAULT_PAGE_LIMIT } from '@app/common/pagination/page-query.dto';
import { createValidationPipe } from '@app/common/validation/validation.pipe';
import { toMessageResponse } from '@app/messages/messages.dto';
import { MessagesService } from '@app/messages/messages.service';
import { RoomsService } from '@app/rooms/rooms.service';
import { ConnectionRegistry } from './connection-registry';
import { RealtimeExceptionFilter } from './realtime-exception.filter';
import { PresenceService } from './presence.service';
import { RealtimeConnection } from './realtime-connection';
import { RealtimeFanout, roomChannel, userChannel } from './realtime-fanout';
import {
  AuthFrameDto,
  DirectMessageFrameDto,
  PingFrameDto,
  RoomFrameDto,
  SendFrameDto,
  SyncFrameDto,
} from './realtime.dto';
import { RealtimeError } from './realtime.error';
import { UpgradeAuthenticator } from './upgrade-authenticator';

/**
 * The WebSocket endpoint at `/ws`, on the HTTP server's port. Connections arrive authenticated
 * (see UpgradeAuthenticator); each handler validates its frame with the REST DTO rules and calls
 * one service method.
 */
@WebSocketGateway({ path: '/ws' })
@UseFilters(RealtimeExceptionFilter)
@UsePipes(createValidationPipe())
export class RealtimeGateway
  implements OnGatewayConnection, OnGatewayDisconnect, OnModuleInit, OnModuleDestroy
{
  private readonly logger = new Logger(RealtimeGateway.name);

  constructor(
    private readonly connections: ConnectionRegistry,
    private readonly authenticator: UpgradeAuthenticator,
    private readonly accessTokens: AccessTokensService,
    private readonly fanout: RealtimeFanout,
    private readonly presence: PresenceService,
    private readonly rooms: RoomsService,
    private readonly messages: MessagesService,
  ) {}

  handleConnection(socket: WebSocket, request: IncomingMessage): void {
    const user = this.authenticator.userOf(request);
    if (!user) {
      socket.terminate();
      return;
    }
    const connection = this.connections.add(socket, user);
    // Private messages reach every connection of the user without a join.
    this.fanout
      .subscribe(connection, userChannel(user.id))
      .catch((error: Error) =>
        this.logger.warn(`Private messages not subscribed: ${error.message}`),
      );
  }

  handleDisconnect(socket: WebSocket): void {
    const connection = this.connections.remove(socket);
    if (connection) {
      this.fanout.unsubscribeAll(connection);
      this.presence
        .disconnected(connection)
        .catch((error: Error) => this.logger.warn(`Presence not updated: ${error.message}`));
    }
  }

  onModuleInit(): void {
    // Access revoked elsewhere (REST leave, room deleted): stop as if the client had sent `leave`.
    this.fanout.roomLeft.subscribe(({ connection, roomId }) => {
      this.stopRoom(connection, roomId).catch((error: Error) =>
        this.logger.warn(`Presence not updated: ${error.message}`),
      );
    });
  }

  /** Draining: no new upgrades, and every client is told to reconnect elsewhere. */
  onModuleDestroy(): void {
    this.authenticator.stopAccepting();
    for (const connection of this.connections.all()) {
      connection.close(CloseCode.GoingAway, 'Server shutting down');
    }
  }

  @SubscribeMessage('ping')
  ping(@MessageBody() _frame: PingFrameDto): WsResponse<ServerEventMap['pong']> {
    return { event: 'pong', data: {} };
  }

  /**
   * Live messages of a room from now on; a public room is joined as a member first. `lastSeq`
   * is read after the subscription is in place, so `sync` from it misses nothing.
   */
  @SubscribeMessage('join')
  async joinRoom(
    @MessageBody() frame: RoomFrameDto,
    @ConnectedSocket() socket: WebSocket,
  ): Promise<WsResponse<ServerEventMap['joined']>> {
    const connection = this.connectionOf(socket);
    const userId = connection.user.id;
    await this.rooms.joinRoom(userId, frame.roomId);
    await this.fanout.subscribe(connection, roomChannel(frame.roomId));
    const { roomId, lastSeq } = await this.rooms.sequencePosition(frame.roomId);
    if (!connection.rooms.has(roomId)) {
      connection.rooms.add(roomId);
      await this.presence.entered(connection, roomId);
    }
    return { event: 'joined', data: { roomId, lastSeq } };
  }

  /** No more live messages of the room on this connection; the membership stays (REST leaves it). */
  @SubscribeMessage('leave')
  async leaveRoom(
    @MessageBody() frame: RoomFrameDto,
    @ConnectedSocket() socket: WebSocket,
  ): Promise<WsResponse<ServerEventMap['left']>> {
    await this.stopRoom(this.connectionOf(socket), frame.roomId);
    return { event: 'left', data: { roomId: frame.roomId } };
  }

  /** The one write path, as `POST /api/rooms/:id/messages`: `ack` after the commit. */
  @SubscribeMessage('send')
  async sendMessage(
    @MessageBody() frame: SendFrameDto,
    @ConnectedSocket() socket: WebSocket,
  ): Promise<WsResponse<ServerEventMap['ack']>> {
    const { user } = this.connectionOf(socket);
    const message = await this.messages.post(user.id, frame.roomId, frame.body, frame.clientMsgId);
    return { event: 'ack', data: ackOf(message) };
  }

  /** A private message through the direct room of the two users, as `POST /api/users/:id/messages`. */
  @SubscribeMessage('dm')
  async sendPrivateMessage(
    @MessageBody() frame: DirectMessageFrameDto,
    @ConnectedSocket() socket: WebSocket,
  ): Promise<WsResponse<ServerEventMap['ack']>> {
    const { user } = this.connectionOf(socket);
    const message = await this.messages.postPrivate(
      user.id,
      frame.userId,
      frame.body,
      frame.clientMsgId,
    );
    return { event: 'ack', data: ackOf(message) };
  }

  /** The messages after `afterSeq`, oldest first: how a client fills a gap or catches up. */
  @SubscribeMessage('sync')
  async syncRoom(
    @MessageBody() frame: SyncFrameDto,
    @ConnectedSocket() socket: WebSocket,
  ): Promise<WsResponse<ServerEventMap['history']>> {
    const { user } = this.connectionOf(socket);
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

  @SubscribeMessage('auth')
  async renewToken(
    @MessageBody() frame: AuthFrameDto,
    @ConnectedSocket() socket: WebSocket,
  ): Promise<WsResponse<ServerEventMap['authed']>> {
    const connection = this.connections.get(socket);
    const user = await this.accessTokens.authenticate(frame.token);
    if (!connection || !user) {
      throw new RealtimeError('unauthenticated', 'The token is invalid or expired');
    }
    if (user.id !== connection.user.id) {
      throw new RealtimeError('forbidden', 'The token belongs to another user');
    }
    connection.renew(user);
    return { event: 'authed', data: { expiresAt: user.expiresAt.toISOString() } };
  }

  private async stopRoom(connection: RealtimeConnection, roomId: string): Promise<void> {
    this.fanout.unsubscribe(connection, roomChannel(roomId));
    if (connection.rooms.delete(roomId)) {
      await this.presence.exited(connection, roomId);
    }
  }

  private connectionOf(socket: WebSocket): RealtimeConnection {
    const connection = this.connections.get(socket);
    if (!connection) {
      throw new RealtimeError('unauthenticated', 'The connection is closing');
    }
    return connection;
  }
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
