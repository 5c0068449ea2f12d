import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig, durationToMs } from '@config';
import { AppError } from '@app/common/errors/app-error';
import type { User } from '@app/users/user.entity';
import { UsersService } from '@app/users/users.service';
import { AccessTokensService } from './access-tokens.service';
import { AuthSessionLiveness } from './auth-session-liveness';
import { AuthSession } from './auth-session.entity';
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

function invalidRefreshToken(): AppError {
  return new AppError('invalid_refresh_token', INVALID_REFRESH_TOKEN);
}

@Injectable()
export class AuthService {
  private readonly refreshTokenTtlMs: number;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly users: UsersService,
    private readonly sessions: AuthSessionsRepository,
    private readonly passwords: PasswordsService,
    private readonly accessTokens: AccessTokensService,
    private readonly liveness: AuthSessionLiveness,
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
   * again means it was stolen or replayed, so the whole login is revoked. A secret that was
   * never issued (a guess at a session id read from an access token) revokes nothing.
   */
  async refresh(refreshToken: string): Promise<TokenPair> {
    const { session, secret } = await this.provenSession(refreshToken);
    if (secret === 'spent') {
      await this.endLogin(session);
      throw invalidRefreshToken();
    }
    if (session.revokedAt || session.expiresAt.getTime() <= Date.now()) {
      throw invalidRefreshToken();
    }
    const newSecret = newRefreshSecret();
    const rotated = await this.sessions.rotate(
      session.id,
      session.refreshTokenHash,
      hashRefreshSecret(newSecret),
      this.refreshExpiry(),
    );
    if (!rotated) {
      // A concurrent refresh spent it first: the same token used twice.
      await this.endLogin(session);
      throw invalidRefreshToken();
    }
    return {
      accessToken: this.accessTokens.sign(session.userId, session.id),
      refreshToken: formatRefreshToken(session.id, newSecret),
    };
  }

  /** Ends the login the token belongs to, on every instance. Idempotent for its holder. */
  async logout(refreshToken: string): Promise<void> {
    const { session } = await this.provenSession(refreshToken);
    await this.endLogin(session);
  }

  /**
   * The session of a refresh token whose secret is proven: its current secret, or one it
   * traded in before. Anything else is a 401 before anything changes.
   */
  private async provenSession(
    refreshToken: string,
  ): Promise<{ session: AuthSession; secret: 'current' | 'spent' }> {
    const parsed = parseRefreshToken(refreshToken);
    const session = parsed && (await this.sessions.findById(parsed.sessionId));
    if (!parsed || !session) {
      throw invalidRefreshToken();
    }
    // Constant time against the current secret; a spent one is looked up by its hash.
    if (refreshSecretMatches(parsed.secret, session.refreshTokenHash)) {
      return { session, secret: 'current' };
    }
    if (await this.sessions.isSpent(session.id, hashRefreshSecret(parsed.secret))) {
      return { session, secret: 'spent' };
    }
    throw invalidRefreshToken();
  }

  private async endLogin(session: AuthSession): Promise<void> {
    await this.sessions.revoke(session.id);
    await this.liveness.end({ sessionId: session.id, userId: session.userId });
  }

  private async startSession(userId: string): Promise<TokenPair> {
    const secret = newRefreshSecret();
    const session = await this.sessions.create(
      userId,
      hashRefreshSecret(secret),
      this.refreshExpiry(),
    );
    return {
      accessToken: this.accessTokens.sign(userId, session.id),
      refreshToken: formatRefreshToken(session.id, secret),
    };
  }

  private refreshExpiry(): Date {
    return new Date(Date.now() + this.refreshTokenTtlMs);
  }
}
