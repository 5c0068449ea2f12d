import { FieldError } from '@app/common/errors/error-response.dto';

/** No request field of the API is a list this long; a longer one is refused before any copy. */
export const MAX_ARRAY_ITEMS = 1000;

/**
 * The first problem no DTO rule should ever have to see, with the field it is in: a string with
 * NUL or an unpaired surrogate (PostgreSQL refuses NUL, and both databases would store something
 * other than what was sent), or a list longer than any field takes. Walks what JSON parsing made,
 * whose depth the body parser and the frame parser have already bounded.
 */
export function findHostileValue(value: unknown, field: string): FieldError | undefined {
  if (typeof value === 'string') {
    return isSafeText(value)
      ? undefined
      : { field, message: `${field} must not contain NUL characters or unpaired surrogates` };
  }
  if (typeof value !== 'object' || value === null) {
    return undefined;
  }
  if (Array.isArray(value)) {
    if (value.length > MAX_ARRAY_ITEMS) {
      return { field, message: `${field} must have at most ${MAX_ARRAY_ITEMS} items` };
    }
    for (let i = 0; i < value.length; i++) {
      const problem = findHostileValue(value[i], `${field}.${i}`);
      if (problem) {
        return problem;
      }
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    const path = field ? `${field}.${key}` : key;
    const problem = isSafeText(key)
      ? findHostileValue((value as Record<string, unknown>)[key], path)
      : { field: path, message: 'a field name must not contain NUL or unpaired surrogates' };
    if (problem) {
      return problem;
    }
  }
  return undefined;
}

function isSafeText(text: string): boolean {
  return !text.includes('\0') && (text as string & { isWellFormed(): boolean }).isWellFormed();
}
