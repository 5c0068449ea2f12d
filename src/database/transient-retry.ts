import { setTimeout as sleep } from 'node:timers/promises';
import { driverErrorCode } from './unique-violation';

/** Attempts of one write in all: enough for a deadlock or two, bounded for a caller waiting. */
export const TRANSIENT_MAX_ATTEMPTS = 5;
/** The first retry waits up to this long; each further one up to twice as long as the one before. */
const BASE_DELAY_MS = 5;

/**
 * PostgreSQL's deadlock_detected (40P01) and serialization_failure (40001): the server undid the
 * whole transaction, and the same write run again can succeed.
 */
export function isTransientFailure(error: unknown): boolean {
  const code = driverErrorCode(error);
  return code === '40P01' || code === '40001';
}

export interface TransientRetryOptions {
  /** What else is worth another attempt (besides isTransientFailure). */
  alsoRetry?: (error: unknown) => boolean;
  attempts?: number;
}

/**
 * Runs `write` (a whole transaction, or one autocommitted statement), again after a transient
 * failure, with a random wait (full jitter) so that the two sides of a deadlock do not meet again.
 */
export async function retryTransient<T>(
  write: () => Promise<T>,
  options: TransientRetryOptions = {},
): Promise<T> {
  const attempts = options.attempts ?? TRANSIENT_MAX_ATTEMPTS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      const retryable = isTransientFailure(error) || options.alsoRetry?.(error) === true;
      if (!retryable || attempt >= attempts) {
        throw error;
      }
      await sleep(Math.random() * BASE_DELAY_MS * 2 ** (attempt - 1));
    }
  }
}
