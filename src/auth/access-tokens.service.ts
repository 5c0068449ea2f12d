import { createSecretKey, KeyObject } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { APP_CONFIG, AppConfig, durationToMs } from '@config';
import { AuthSessionLiveness } from './auth-session-liveness';
import { AuthenticatedUser } from './authenticated-user';
import { signHs256, verifyHs256 } from './hs256-token';
import { resolveJwtSecret } from './jwt-secret';

/** Verified tokens remembered; each is forgotten when it expires, the oldest first past this. */
const MAX_VERIFIED_TOKENS = 20_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Signs and checks the short-lived HS256 access tokens. `authenticate` is the one check every
 * entry point uses (HTTP guard, WebSocket upgrade and `auth` frame, early hooks): a plain
 * function of the token string, microseconds on a token seen before.
 */
@Injectable()
export class AccessTokensService {
  private readonly key: KeyObject;
  private readonly ttlSeconds: number;
  private readonly verified = new LRUCache<string, AuthenticatedUser>({ max: MAX_VERIFIED_TOKENS });

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly liveness: AuthSessionLiveness,
  ) {
    this.key = createSecretKey(Buffer.from(resolveJwtSecret(config), 'utf8'));
    this.ttlSeconds = Math.floor(durationToMs(config.auth.accessTokenTtl) / 1000);
  }

  sign(userId: string, sessionId: string): string {
    const now = Math.floor(Date.now() / 1000);
    return signHs256(
      { sub: userId, sid: sessionId, iat: now, exp: now + this.ttlSeconds },
      this.key,
    );
  }

  /**
   * The caller a token names, or null when the token is malformed, forged or expired, or its
   * login has ended (logout, reuse revocation, a deleted user).
   */
  async authenticate(token: string): Promise<AuthenticatedUser | null> {
    const user = this.verify(token);
    return user && (await this.liveness.isLive(user.sessionId, user.id)) ? user : null;
  }

  /** The signature and lifetime check alone, each token once: remembered until it expires. */
  verify(token: string): AuthenticatedUser | null {
    const remembered = this.verified.get(token);
    if (remembered) {
      return remembered.expiresAt.getTime() > Date.now() ? remembered : null;
    }
    const claims = verifyHs256(token, this.key, Math.floor(Date.now() / 1000));
    // Ids that are not UUIDs can name no user or session (and PostgreSQL refuses them).
    if (!claims || !UUID.test(claims.sub) || !UUID.test(claims.sid)) {
      return null;
    }
    const user = { id: claims.sub, sessionId: claims.sid, expiresAt: new Date(claims.exp * 1000) };
    this.verified.set(token, user, { ttl: Math.max(1, user.expiresAt.getTime() - Date.now()) });
    return user;
  }
}
