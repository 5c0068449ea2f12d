import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { canonicalId } from '@app/common/validation/canonical-id';

/**
 * A refresh token is `<sessionId>.<secret>`: the session id finds the login, and the secret,
 * of which only a SHA-256 is stored, proves the holder has its newest token.
 */
export interface ParsedRefreshToken {
  sessionId: string;
  secret: string;
}

const SECRET_BYTES = 32;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SECRET = /^[A-Za-z0-9_-]{43}$/;

export function newRefreshSecret(): string {
  return randomBytes(SECRET_BYTES).toString('base64url');
}

export function formatRefreshToken(sessionId: string, secret: string): string {
  return `${sessionId}.${secret}`;
}

export function parseRefreshToken(token: string): ParsedRefreshToken | null {
  const [sessionId, secret, ...rest] = token.split('.');
  if (rest.length > 0 || !UUID.test(sessionId ?? '') || !SECRET.test(secret ?? '')) {
    return null;
  }
  return { sessionId: canonicalId(sessionId), secret };
}

export function hashRefreshSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function refreshSecretMatches(secret: string, storedHash: string): boolean {
  const presented = Buffer.from(hashRefreshSecret(secret), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}
