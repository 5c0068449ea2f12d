/**
 * The cache key of a GET answer: the route's template (`/api/rooms/:id/messages`), its
 * validated path parameters and query with names in a canonical (sorted) order, and — when the
 * answer depends on who asks — the caller. A pure function of validated values, so that the
 * interceptor and an early request hook build the same key, and a parameter no route declares
 * can never mint an entry.
 */
export function buildCacheKey(
  route: string,
  params: Readonly<Record<string, unknown>>,
  query: Readonly<Record<string, unknown>>,
  caller?: string,
): string {
  const paramPart = canonicalPairs(params);
  const queryPart = canonicalPairs(query);
  const callerPart = caller === undefined ? '' : ` caller=${encodeURIComponent(caller)}`;
  return `GET ${route}${paramPart ? ` ${paramPart}` : ''}${queryPart ? `?${queryPart}` : ''}${callerPart}`;
}

/** `name=value` pairs sorted by name, each part URI-encoded; undefined values left out. */
function canonicalPairs(values: Readonly<Record<string, unknown>>): string {
  return Object.keys(values)
    .filter((name) => values[name] !== undefined)
    .sort()
    .map(
      (name) => `${encodeURIComponent(name)}=${encodeURIComponent(canonicalValue(values[name]))}`,
    )
    .join('&');
}

function canonicalValue(value: unknown): string {
  if (typeof value === 'string') {
    return value;
  }
  if (value instanceof Date) {
    return value.toISOString();
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  return JSON.stringify(value) ?? '';
}
