import { createHmac, KeyObject, timingSafeEqual } from 'node:crypto';

/** The claims of an access token. */
export interface AccessTokenClaims {
  sub: string;
  sid: string;
  iat: number;
  exp: number;
  nbf?: number;
}

/** Longer than any token we issue; bounds the HMAC work a forged token can ask for. */
export const MAX_TOKEN_LENGTH = 4096;

// The one header we issue, so a token of another algorithm ("none", RS256 …) never matches.
const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
const HEADER_PREFIX = `${HEADER}.`;
const SIGNATURE_BYTES = 32;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * Signs an HS256 JWT with node:crypto. A KeyObject secret: `jsonwebtoken` given a string first
 * tries it as a public key on every call, which costs ~40 times the HMAC itself.
 */
export function signHs256(claims: AccessTokenClaims, key: KeyObject): string {
  const signingInput = `${HEADER}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${signingInput}.${hmac(signingInput, key).toString('base64url')}`;
}

/**
 * The claims of a token this server signed, or null when it is malformed, signed otherwise,
 * not yet valid or expired. Compares the signature in constant time.
 */
export function verifyHs256(
  token: string,
  key: KeyObject,
  nowSeconds: number,
): AccessTokenClaims | null {
  if (token.length > MAX_TOKEN_LENGTH || !token.startsWith(HEADER_PREFIX)) {
    return null;
  }
  const signatureStart = token.lastIndexOf('.');
  if (signatureStart <= HEADER_PREFIX.length) {
    return null;
  }
  const payload = token.slice(HEADER_PREFIX.length, signatureStart);
  const signature = token.slice(signatureStart + 1);
  if (!BASE64URL.test(payload) || !BASE64URL.test(signature)) {
    return null;
  }
  const presented = Buffer.from(signature, 'base64url');
  const expected = hmac(token.slice(0, signatureStart), key);
  if (presented.length !== SIGNATURE_BYTES || !timingSafeEqual(presented, expected)) {
    return null;
  }
  const claims = parseClaims(payload);
  if (
    !claims ||
    claims.exp <= nowSeconds ||
    (claims.nbf !== undefined && claims.nbf > nowSeconds)
  ) {
    return null;
  }
  return claims;
}

function hmac(signingInput: string, key: KeyObject): Buffer {
  return createHmac('sha256', key).update(signingInput).digest();
}

function parseClaims(payload: string): AccessTokenClaims | null {
  let claims: Partial<AccessTokenClaims> | null;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof claims;
  } catch {
    return null;
  }
  if (
    typeof claims !== 'object' ||
    claims === null ||
    typeof claims.sub !== 'string' ||
    typeof claims.sid !== 'string' ||
    !Number.isFinite(claims.exp) ||
    (claims.nbf !== undefined && !Number.isFinite(claims.nbf))
  ) {
    return null;
  }
  return claims as AccessTokenClaims;
}
