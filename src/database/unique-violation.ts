import { QueryFailedError } from 'typeorm';

/** The driver's error code of a failed statement (TypeORM wraps it, raw drivers do not). */
export function driverErrorCode(error: unknown): unknown {
  const driverError = (error instanceof QueryFailedError ? error.driverError : error) as {
    code?: unknown;
  } | null;
  return driverError?.code;
}

/** PostgreSQL's 23505 or SQLite's SQLITE_CONSTRAINT_UNIQUE / _PRIMARYKEY. */
export function isUniqueViolation(error: unknown): boolean {
  const code = driverErrorCode(error);
  return (
    code === '23505' ||
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  );
}

/** PostgreSQL's 23503 or SQLite's SQLITE_CONSTRAINT_FOREIGNKEY: a referenced row is gone. */
export function isForeignKeyViolation(error: unknown): boolean {
  const code = driverErrorCode(error);
  return code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}
