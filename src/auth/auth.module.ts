import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { UsersModule } from '@app/users/users.module';
import { AccessTokenGuard } from './access-token.guard';
import { AccessTokensService } from './access-tokens.service';
import { AuthSessionLiveness } from './auth-session-liveness';
import { AuthSessionPruner } from './auth-session-pruner';
import { AuthSession } from './auth-session.entity';
import { AuthSessionSpentSecret } from './auth-session-spent-secret.entity';
import { AuthSessionsRepository } from './auth-sessions.repository';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { PasswordsService } from './passwords.service';

@Module({
  imports: [UsersModule, TypeOrmModule.forFeature([AuthSession, AuthSessionSpentSecret])],
  controllers: [AuthController],
  providers: [
    AuthService,
    AuthSessionsRepository,
    PasswordsService,
    AccessTokensService,
    AccessTokenGuard,
    AuthSessionLiveness,
    AuthSessionPruner,
  ],
  exports: [AccessTokensService, AccessTokenGuard, AuthSessionLiveness],
})
export class AuthModule {}
