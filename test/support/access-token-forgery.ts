import { createSecretKey } from 'node:crypto';
import { signHs256 } from '@app/auth/hs256-token';

/** The claims of an access token (`sid`: its login) as the token carries them. */
export function claimsOf(accessToken: string): { sub: string; sid: string; exp: number } {
  return JSON.parse(Buffer.from(accessToken.split('.')[1], 'base64url').toString('utf8')) as {
    sub: string;
    sid: string;
    exp: number;
  };
}

/** An access token with these claims, signed with `secret` (the server's, or a foreign one). */
export function signAccessToken(
  secret: string,
  claims: { sub: string; sid: string; exp?: number },
): string {
  const now = Math.floor(Date.now() / 1000);
  return signHs256(
    { iat: now, exp: claims.exp ?? now + 600, sub: claims.sub, sid: claims.sid },
    createSecretKey(Buffer.from(secret, 'utf8')),
  );
}
