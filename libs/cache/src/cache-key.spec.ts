import { buildCacheKey } from './cache-key';

const ROUTE = '/api/rooms/:id/messages';

describe(buildCacheKey.name, () => {
  it('is the route and its parameters when there is no query and no caller', () => {
    expect(buildCacheKey('/api/users/:id', { id: 'u1' }, {})).toBe('GET /api/users/:id id=u1');
  });

  it('puts query values in a canonical order', () => {
    expect(buildCacheKey(ROUTE, { id: 'r1' }, { limit: 50, after: 10 })).toBe(
      buildCacheKey(ROUTE, { id: 'r1' }, { after: 10, limit: 50 }),
    );
    expect(buildCacheKey(ROUTE, { id: 'r1' }, { limit: 50, after: 10 })).toBe(
      'GET /api/rooms/:id/messages id=r1?after=10&limit=50',
    );
  });

  it('leaves out absent values and encodes the rest one way', () => {
    expect(buildCacheKey(ROUTE, { id: 'r1' }, { before: undefined, cursor: 'a b&c' })).toBe(
      'GET /api/rooms/:id/messages id=r1?cursor=a%20b%26c',
    );
  });

  it('tells different parameters and different queries apart', () => {
    expect(buildCacheKey(ROUTE, { id: 'r1' }, {})).not.toBe(buildCacheKey(ROUTE, { id: 'r2' }, {}));
    expect(buildCacheKey(ROUTE, { id: 'r1' }, { after: 1 })).not.toBe(
      buildCacheKey(ROUTE, { id: 'r1' }, { after: 2 }),
    );
  });

  it('separates callers, and a shared entry from a per-caller one', () => {
    const alice = buildCacheKey('/api/rooms', {}, { limit: 5 }, 'alice-id');

    expect(alice).not.toBe(buildCacheKey('/api/rooms', {}, { limit: 5 }, 'bob-id'));
    expect(alice).not.toBe(buildCacheKey('/api/rooms', {}, { limit: 5 }));
  });

  it('encodes the caller so it cannot be confused with the query', () => {
    expect(buildCacheKey('/api/x', {}, {}, 'a b&c=d')).toBe('GET /api/x caller=a%20b%26c%3Dd');
  });
});
