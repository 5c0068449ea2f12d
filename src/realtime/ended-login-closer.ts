import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { CloseCode } from '@libs/protocol';
import { AuthSessionLiveness } from '@app/auth/auth-session-liveness';
import { ConnectionRegistry } from './connection-registry';

/** Closes this instance's connections of a login that ended anywhere in the fleet (4401). */
@Injectable()
export class EndedLoginCloser implements OnModuleInit, OnModuleDestroy {
  private stopListening: (() => void) | undefined;

  constructor(
    private readonly liveness: AuthSessionLiveness,
    private readonly connections: ConnectionRegistry,
  ) {}

  onModuleInit(): void {
    this.stopListening = this.liveness.onEnded(({ userId, sessionId }) => {
      for (const connection of this.connections.connectionsOf(userId)) {
        if (connection.user.sessionId === sessionId) {
          connection.close(CloseCode.TokenExpired, 'Login ended');
        }
      }
    });
  }

  onModuleDestroy(): void {
    this.stopListening?.();
  }
}
