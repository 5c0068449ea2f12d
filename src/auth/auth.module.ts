import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { TypeOrmModule } from '@nestjs/typeorm';
import { APP_CONFIG, AppConfig, durationToMs } from '@config';
import { UsersModule } from '@app/users/users.module';
import { AccessTokenGuard } from './access-token.guard';
import { AccessTokensService } from './access-tokens.service';
import { AuthSession } from './auth-session.entity';
import { AuthSessionsRepository } from './auth-sessions.repository';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { resolveJwtSecret } from './jwt-secret';
import { PasswordsService } from './passwords.service';

@Module({
  imports: [
    UsersModule,
    TypeOrmModule.forFeature([AuthSession]),
    JwtModule.registerAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        secret: resolveJwtSecret(config),
        signOptions: {
          algorithm: 'HS256',
          expiresIn: Math.floor(durationToMs(config.auth.accessTokenTtl) / 1000),
        },
      }),
    }),
  ],
  controllers: [AuthController],
  providers: [
    AuthService,
    AuthSessionsRepository,
    PasswordsService,
    AccessTokensService,
    AccessTokenGuard,
  ],
  exports: [AccessTokensService, AccessTokenGuard],
})
export class AuthModule {}
