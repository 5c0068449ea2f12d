/**
 * The cache key of a GET request: its path, its query with the parameters in a canonical order,
 * and — when the answer depends on who asks — the caller. `?b=2&a=1` and `?a=1&b=2` share an
 * entry; repeated parameters keep their relative order, since `?a=1&a=2` may mean a list.
 */
export function buildCacheKey(url: string, caller?: string): string {
  const queryStart = url.indexOf('?');
  const path = queryStart === -1 ? url : url.slice(0, queryStart);
  const query = queryStart === -1 ? '' : normalizeQuery(url.slice(queryStart + 1));
  const callerPart = caller === undefined ? '' : ` caller=${encodeURIComponent(caller)}`;
  return `GET ${path}${query ? `?${query}` : ''}${callerPart}`;
}

/** The query string decoded, sorted by parameter name (stable) and encoded the one way. */
export function normalizeQuery(query: string): string {
  const hashStart = query.indexOf('#');
  const parameters = [...new URLSearchParams(hashStart === -1 ? query : query.slice(0, hashStart))];
  parameters.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return new URLSearchParams(parameters).toString();
}
