import { loadConfig } from '@config';
import { AppError } from '@app/common/errors/app-error';
import { UsersService } from '@app/users/users.service';
import { AccessTokensService } from './access-tokens.service';
import { AuthSessionLiveness, EndedLogin } from './auth-session-liveness';
import { AuthSession } from './auth-session.entity';
import { AuthSessionsRepository } from './auth-sessions.repository';
import { AuthService } from './auth.service';
import { PasswordsService } from './passwords.service';
import { formatRefreshToken, hashRefreshSecret, newRefreshSecret } from './refresh-token';

const SESSION_ID = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';

/** An in-memory AuthSessionsRepository with the same conditional-update semantics. */
class FakeSessions implements Pick<
  AuthSessionsRepository,
  'findById' | 'rotate' | 'revoke' | 'create' | 'isSpent'
> {
  readonly rows = new Map<string, AuthSession>();
  readonly spent = new Set<string>();

  create(userId: string, refreshTokenHash: string, expiresAt: Date): Promise<AuthSession> {
    const session = Object.assign(new AuthSession(), {
      id: SESSION_ID,
      userId,
      refreshTokenHash,
      expiresAt,
      revokedAt: null,
      createdAt: new Date(),
    });
    this.rows.set(session.id, session);
    return Promise.resolve(session);
  }

  findById(id: string): Promise<AuthSession | null> {
    const row = this.rows.get(id);
    return Promise.resolve(row ? { ...row } : null);
  }

  rotate(id: string, expectedHash: string, newHash: string, expiresAt: Date): Promise<boolean> {
    this.spent.add(`${id}:${expectedHash}`);
    const row = this.rows.get(id);
    if (!row || row.revokedAt || row.refreshTokenHash !== expectedHash) {
      return Promise.resolve(false);
    }
    Object.assign(row, { refreshTokenHash: newHash, expiresAt });
    return Promise.resolve(true);
  }

  isSpent(id: string, secretHash: string): Promise<boolean> {
    return Promise.resolve(this.spent.has(`${id}:${secretHash}`));
  }

  revoke(id: string): Promise<void> {
    const row = this.rows.get(id);
    if (row && !row.revokedAt) {
      row.revokedAt = new Date();
    }
    return Promise.resolve();
  }
}

/** Records the logins ended through it, as the bus would carry them. */
class FakeLiveness implements Pick<AuthSessionLiveness, 'end'> {
  readonly ended: EndedLogin[] = [];

  end(login: EndedLogin): Promise<void> {
    this.ended.push(login);
    return Promise.resolve();
  }
}

describe(AuthService.name, () => {
  let sessions: FakeSessions;
  let liveness: FakeLiveness;
  let service: AuthService;

  beforeEach(() => {
    sessions = new FakeSessions();
    liveness = new FakeLiveness();
    const accessTokens: Pick<AccessTokensService, 'sign'> = {
      sign: (userId: string, sessionId: string) => `access:${userId}:${sessionId}`,
    };
    service = new AuthService(
      loadConfig({ REFRESH_TTL: '1h' }),
      {} as UsersService,
      sessions as unknown as AuthSessionsRepository,
      {} as PasswordsService,
      accessTokens as AccessTokensService,
      liveness as unknown as AuthSessionLiveness,
    );
  });

  async function aSession(overrides: Partial<AuthSession> = {}) {
    const secret = newRefreshSecret();
    const session = await sessions.create(
      'user-1',
      hashRefreshSecret(secret),
      new Date(Date.now() + 60_000),
    );
    Object.assign(session, overrides);
    return formatRefreshToken(session.id, secret);
  }

  describe('refresh', () => {
    it('rotates: a new pair, and the session keeps only the new secret', async () => {
      const token = await aSession();

      const pair = await service.refresh(token);

      expect(pair.accessToken).toBe(`access:user-1:${SESSION_ID}`);
      expect(pair.refreshToken).not.toBe(token);
      await expect(service.refresh(pair.refreshToken)).resolves.toBeDefined();
    });

    it('extends the expiry by REFRESH_TTL', async () => {
      const token = await aSession();

      await service.refresh(token);

      const expiresInMs = sessions.rows.get(SESSION_ID)!.expiresAt.getTime() - Date.now();
      expect(expiresInMs).toBeGreaterThan(3_590_000);
      expect(expiresInMs).toBeLessThanOrEqual(3_600_000);
    });

    it('revokes the login when a spent token comes back', async () => {
      const spent = await aSession();
      const { refreshToken: newest } = await service.refresh(spent);

      await expect(service.refresh(spent)).rejects.toThrow(AppError);

      expect(sessions.rows.get(SESSION_ID)!.revokedAt).toBeInstanceOf(Date);
      await expect(service.refresh(newest)).rejects.toMatchObject({
        code: 'invalid_refresh_token',
      });
    });

    it('refuses a wrong secret without revoking anything', async () => {
      const token = await aSession();
      const guessed = formatRefreshToken(SESSION_ID, newRefreshSecret());

      await expect(service.refresh(guessed)).rejects.toMatchObject({
        code: 'invalid_refresh_token',
      });

      expect(sessions.rows.get(SESSION_ID)!.revokedAt).toBeNull();
      expect(liveness.ended).toEqual([]);
      await expect(service.refresh(token)).resolves.toBeDefined();
    });

    it('ends the login on every instance when a spent token comes back', async () => {
      const spent = await aSession();
      await service.refresh(spent);

      await expect(service.refresh(spent)).rejects.toThrow(AppError);

      expect(liveness.ended).toEqual([{ sessionId: SESSION_ID, userId: 'user-1' }]);
    });

    it('refuses an expired session without revoking it', async () => {
      const token = await aSession({ expiresAt: new Date(Date.now() - 1) });

      await expect(service.refresh(token)).rejects.toMatchObject({ code: 'invalid_refresh_token' });
      expect(sessions.rows.get(SESSION_ID)!.revokedAt).toBeNull();
    });

    it('refuses a token of an unknown session', async () => {
      const token = formatRefreshToken('00000000-0000-4000-8000-000000000000', newRefreshSecret());

      await expect(service.refresh(token)).rejects.toMatchObject({ code: 'invalid_refresh_token' });
    });
  });

  describe('logout', () => {
    it('revokes the session', async () => {
      const token = await aSession();

      await service.logout(token);

      await expect(service.refresh(token)).rejects.toMatchObject({ code: 'invalid_refresh_token' });
    });

    it('refuses a malformed token', async () => {
      await expect(service.logout('garbage')).rejects.toMatchObject({
        code: 'invalid_refresh_token',
      });
    });

    it('refuses a wrong secret without revoking anything', async () => {
      const token = await aSession();

      await expect(
        service.logout(formatRefreshToken(SESSION_ID, newRefreshSecret())),
      ).rejects.toMatchObject({ code: 'invalid_refresh_token' });

      expect(sessions.rows.get(SESSION_ID)!.revokedAt).toBeNull();
      await expect(service.refresh(token)).resolves.toBeDefined();
    });

    it('ends the login on every instance', async () => {
      const token = await aSession();

      await service.logout(token);

      expect(liveness.ended).toEqual([{ sessionId: SESSION_ID, userId: 'user-1' }]);
    });
  });
});
