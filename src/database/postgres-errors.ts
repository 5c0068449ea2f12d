import { DatabaseError } from 'pg';
import { QueryFailedError } from 'typeorm';

/** The error PostgreSQL answered with (TypeORM wraps it); null for any other failure. */
export function postgresErrorOf(error: unknown): DatabaseError | null {
  const driverError: unknown = error instanceof QueryFailedError ? error.driverError : error;
  return driverError instanceof DatabaseError ? driverError : null;
}

/**
 * SQLSTATE classes after which PostgreSQL may have ended the session, possibly after a commit:
 * connection exception, operator intervention (admin shutdown, …), system error, internal error.
 */
const SESSION_ENDING_CLASSES = new Set(['08', '57', '58', 'XX']);

/**
 * Whether a failed statement may nonetheless have committed: no answer came from the server (the
 * connection broke, a timeout, …) or the server ended the session. Any other error of PostgreSQL
 * undid the statement's transaction.
 */
export function isCommitOutcomeUnknown(error: unknown): boolean {
  const code = postgresErrorOf(error)?.code;
  return code === undefined || SESSION_ENDING_CLASSES.has(code.slice(0, 2));
}

/**
 * A data exception (class 22) or an integrity constraint violation (class 23): the rows are at
 * fault, not the database; run alone, a good row succeeds and a bad one fails alone.
 */
export function isDataError(error: unknown): boolean {
  const code = postgresErrorOf(error)?.code;
  return code !== undefined && (code.startsWith('22') || code.startsWith('23'));
}
