import { IncomingMessage } from 'node:http';
import { OnModuleDestroy, UseFilters, UsePipes } from '@nestjs/common';
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
import { CloseCode, ServerEventMap } from '@libs/client';
import { AccessTokensService } from '@app/auth/access-tokens.service';
import { createValidationPipe } from '@app/common/validation/validation.pipe';
import { ConnectionRegistry } from './connection-registry';
import { RealtimeExceptionFilter } from './realtime-exception.filter';
import { RealtimeFanout, userChannel } from './realtime-fanout';
import { AuthFrameDto, PingFrameDto } from './realtime.dto';
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
export class RealtimeGateway implements OnGatewayConnection, OnGatewayDisconnect, OnModuleDestroy {
  constructor(
    private readonly connections: ConnectionRegistry,
    private readonly authenticator: UpgradeAuthenticator,
    private readonly accessTokens: AccessTokensService,
    private readonly fanout: RealtimeFanout,
  ) {}

  handleConnection(socket: WebSocket, request: IncomingMessage): void {
    const user = this.authenticator.userOf(request);
    if (!user) {
      socket.terminate();
      return;
    }
    const connection = this.connections.add(socket, user);
    // Private messages reach every connection of the user without a join.
    void this.fanout.subscribe(connection, userChannel(user.id));
  }

  handleDisconnect(socket: WebSocket): void {
    const connection = this.connections.remove(socket);
    if (connection) {
      this.fanout.unsubscribeAll(connection);
    }
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

  @SubscribeMessage('auth')
  async renewToken(
    @MessageBody() frame: AuthFrameDto,
    @ConnectedSocket() socket: WebSocket,
  ): Promise<WsResponse<ServerEventMap['authed']>> {
    const connection = this.connections.get(socket);
    const user = await this.accessTokens.verify(frame.token);
    if (!connection || !user) {
      throw new RealtimeError('unauthenticated', 'The token is invalid or expired');
    }
    if (user.id !== connection.user.id) {
      throw new RealtimeError('forbidden', 'The token belongs to another user');
    }
    connection.renew(user);
    return { event: 'authed', data: { expiresAt: user.expiresAt.toISOString() } };
  }
}
