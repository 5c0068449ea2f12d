import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig, durationToMs } from '@config';
import { AppError } from '@app/common/errors/app-error';
import { User } from '@app/users/user.entity';
import { UsersService } from '@app/users/users.service';
import { AccessTokensService } from './access-tokens.service';
import { AuthSessionsRepository } from './auth-sessions.repository';
import { LoginRequestDto, RegisterRequestDto } from './auth.dto';
import { PasswordsService } from './passwords.service';
import {
  formatRefreshToken,
  hashRefreshSecret,
  newRefreshSecret,
  parseRefreshToken,
  refreshSecretMatches,
} from './refresh-token';

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
}

export interface AuthResult extends TokenPair {
  user: User;
}

const INVALID_CREDENTIALS = 'Wrong username or password';
const INVALID_REFRESH_TOKEN = 'Refresh token is invalid, expired or already used';

@Injectable()
export class AuthService {
  private readonly refreshTokenTtlMs: number;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly users: UsersService,
    private readonly sessions: AuthSessionsRepository,
    private readonly passwords: PasswordsService,
    private readonly accessTokens: AccessTokensService,
  ) {
    this.refreshTokenTtlMs = durationToMs(config.auth.refreshTokenTtl);
  }

  async register(request: RegisterRequestDto): Promise<AuthResult> {
    const user = await this.users.createUser({
      username: request.username,
      displayName: request.displayName ?? request.username,
      passwordHash: await this.passwords.hash(request.password),
    });
    return { user, ...(await this.startSession(user.id)) };
  }

  /** The same answer, after the same work, for an unknown name as for a wrong password. */
  async login(request: LoginRequestDto): Promise<AuthResult> {
    const user = await this.users.findByUsername(request.username);
    const passwordMatches = await this.passwords.verify(user?.passwordHash, request.password);
    if (!user || !passwordMatches) {
      throw new AppError('invalid_credentials', INVALID_CREDENTIALS);
    }
    return { user, ...(await this.startSession(user.id)) };
  }

  /**
   * Trades a refresh token for a new pair. The presented token is spent; presenting a spent one
   * again means it was stolen or replayed, so the whole login is revoked.
   */
  async refresh(refreshToken: string): Promise<TokenPair> {
    const parsed = parseRefreshToken(refreshToken);
    const session = parsed && (await this.sessions.findById(parsed.sessionId));
    if (!parsed || !session || session.revokedAt || session.expiresAt.getTime() <= Date.now()) {
      throw new AppError('invalid_refresh_token', INVALID_REFRESH_TOKEN);
    }
    const secret = newRefreshSecret();
    const rotated =
      refreshSecretMatches(parsed.secret, session.refreshTokenHash) &&
      (await this.sessions.rotate(
        session.id,
        session.refreshTokenHash,
        hashRefreshSecret(secret),
        this.refreshExpiry(),
      ));
    if (!rotated) {
      await this.sessions.revoke(session.id);
      throw new AppError('invalid_refresh_token', INVALID_REFRESH_TOKEN);
    }
    return {
      accessToken: await this.accessTokens.sign(session.userId, session.id),
      refreshToken: formatRefreshToken(session.id, secret),
    };
  }

  /** Ends the login the token belongs to. Idempotent: an unknown or spent token is no error. */
  async logout(refreshToken: string): Promise<void> {
    const parsed = parseRefreshToken(refreshToken);
    if (parsed) {
      await this.sessions.revoke(parsed.sessionId);
    }
  }

  private async startSession(userId: string): Promise<TokenPair> {
    const secret = newRefreshSecret();
    const session = await this.sessions.create(
      userId,
      hashRefreshSecret(secret),
      this.refreshExpiry(),
    );
    return {
      accessToken: await this.accessTokens.sign(userId, session.id),
      refreshToken: formatRefreshToken(session.id, secret),
    };
  }

  private refreshExpiry(): Date {
    return new Date(Date.now() + this.refreshTokenTtlMs);
  }
}
