import { RequestValidationError } from '@app/common/validation/request-validation.error';

/** One page of a list; `nextCursor` is null on the last page. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/**
 * The page of `rows`, which were read with `limit + 1` so that the extra row tells whether
 * another page follows. `positionOf` gives what the next page starts after.
 */
export function pageOf<T>(rows: T[], limit: number, positionOf: (last: T) => object): Page<T> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return {
    items,
    nextCursor: rows.length > limit && last !== undefined ? encodeCursor(positionOf(last)) : null,
  };
}

/** Cursors are opaque to clients: base64url of a small JSON position. */
export function encodeCursor(position: object): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

/** The position in a cursor, or a 400 naming `cursor` when it is not one this list gave out. */
export function decodeCursor<T>(cursor: string, isPosition: (value: unknown) => value is T): T {
  let position: unknown;
  try {
    position = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    position = undefined;
  }
  if (!isPosition(position)) {
    throw new RequestValidationError([{ field: 'cursor', message: 'cursor is not valid here' }]);
  }
  return position;
}

/** For cursor type guards: a plain object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** For cursor type guards: an id. */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/** For cursor type guards: a time as `toISOString` writes it (or any `Date.parse` reads). */
export function isTimestamp(value: unknown): value is string {
  return typeof value === 'string' && !Number.isNaN(Date.parse(value));
}
