import { buildCacheKey, normalizeQuery } from './cache-key';

describe(buildCacheKey.name, () => {
  it('is the path when there is no query and no caller', () => {
    expect(buildCacheKey('/api/users/1')).toBe('GET /api/users/1');
  });

  it('normalizes the order of query parameters', () => {
    expect(buildCacheKey('/api/rooms/1/messages?limit=50&after=10')).toBe(
      buildCacheKey('/api/rooms/1/messages?after=10&limit=50'),
    );
  });

  it('normalizes the encoding of the query', () => {
    expect(buildCacheKey('/api/x?name=a%20b')).toBe(buildCacheKey('/api/x?name=a+b'));
    expect(buildCacheKey('/api/x?%6Eame=b')).toBe(buildCacheKey('/api/x?name=b'));
  });

  it('keeps the order of repeated parameters, which may be a list', () => {
    expect(buildCacheKey('/api/x?a=1&a=2')).not.toBe(buildCacheKey('/api/x?a=2&a=1'));
    expect(normalizeQuery('b=1&a=2&a=1')).toBe('a=2&a=1&b=1');
  });

  it('ignores an empty query and a fragment', () => {
    expect(buildCacheKey('/api/x?')).toBe(buildCacheKey('/api/x'));
    expect(buildCacheKey('/api/x?a=1#top')).toBe(buildCacheKey('/api/x?a=1'));
  });

  it('tells different paths and different queries apart', () => {
    expect(buildCacheKey('/api/users/1')).not.toBe(buildCacheKey('/api/users/2'));
    expect(buildCacheKey('/api/x?after=1')).not.toBe(buildCacheKey('/api/x?after=2'));
  });

  it('includes the caller when the answer depends on the caller', () => {
    const alice = buildCacheKey('/api/rooms?limit=5', 'alice-id');
    const bob = buildCacheKey('/api/rooms?limit=5', 'bob-id');

    expect(alice).toBe('GET /api/rooms?limit=5 caller=alice-id');
    expect(alice).not.toBe(bob);
    expect(alice).not.toBe(buildCacheKey('/api/rooms?limit=5'));
  });

  it('cannot be confused by a caller id that looks like a query', () => {
    expect(buildCacheKey('/api/x', 'a b&c=d')).toBe('GET /api/x caller=a%20b%26c%3Dd');
  });
});
