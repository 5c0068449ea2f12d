import {
  formatRefreshToken,
  hashRefreshSecret,
  newRefreshSecret,
  parseRefreshToken,
  refreshSecretMatches,
} from './refresh-token';

const SESSION_ID = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';

describe('refresh tokens', () => {
  it('parse what format makes', () => {
    const secret = newRefreshSecret();

    expect(parseRefreshToken(formatRefreshToken(SESSION_ID, secret))).toEqual({
      sessionId: SESSION_ID,
      secret,
    });
  });

  it.each([
    ['no separator', 'abc'],
    ['a session id that is not a uuid', `not-a-uuid.${'A'.repeat(43)}`],
    ['a short secret', `${SESSION_ID}.abc`],
    ['an extra part', `${SESSION_ID}.${'A'.repeat(43)}.x`],
    ['an empty string', ''],
  ])('refuse %s', (_case, token) => {
    expect(parseRefreshToken(token)).toBeNull();
  });

  it('match only the secret they were hashed from', () => {
    const secret = newRefreshSecret();
    const stored = hashRefreshSecret(secret);

    expect(refreshSecretMatches(secret, stored)).toBe(true);
    expect(refreshSecretMatches(newRefreshSecret(), stored)).toBe(false);
  });

  it('are never stored as given', () => {
    const secret = newRefreshSecret();

    expect(hashRefreshSecret(secret)).not.toContain(secret);
    expect(hashRefreshSecret(secret)).toMatch(/^[0-9a-f]{64}$/);
  });
});
