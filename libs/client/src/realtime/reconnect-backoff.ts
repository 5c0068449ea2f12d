/** How a `RealtimeClient` waits between reconnection attempts. */
export interface ReconnectOptions {
  /** The ceiling of the first attempt's delay; it doubles with each failed attempt. */
  initialDelayMs?: number;
  /** The ceiling never grows past this. */
  maxDelayMs?: number;
  /** Attempts in a row before the client gives up and closes for good; unset: never. */
  maxAttempts?: number;
}

export const DEFAULT_RECONNECT: Required<Omit<ReconnectOptions, 'maxAttempts'>> = {
  initialDelayMs: 250,
  maxDelayMs: 10_000,
};

/**
 * The delay before reconnection attempt `attempt` (1, 2, …): exponential backoff with full
 * jitter, a uniform draw below a ceiling that doubles each attempt up to `maxDelayMs`. The jitter
 * spreads the clients of an instance that just went away over the whole window instead of
 * having them all hit its neighbour at once.
 */
export function reconnectDelay(
  attempt: number,
  options: ReconnectOptions = {},
  random: () => number = Math.random,
): number {
  const initial = options.initialDelayMs ?? DEFAULT_RECONNECT.initialDelayMs;
  const max = options.maxDelayMs ?? DEFAULT_RECONNECT.maxDelayMs;
  const ceiling = Math.min(max, initial * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
  return Math.floor(random() * ceiling);
}

/** The longest wait a server's Retry-After is taken for: past it, the header is likely wrong. */
export const MAX_RETRY_AFTER_SECONDS = 60;

/**
 * The delay before trying again after the server answered 503 with Retry-After (it is busy, e.g.
 * letting a reconnect storm in at its own pace): the time it asked for, times 1 + a uniform draw,
 * so that the clients it refused together come back spread over the next such window.
 */
export function retryAfterDelay(
  retryAfterSeconds: number,
  random: () => number = Math.random,
): number {
  return Math.floor(retryAfterSeconds * 1000 * (1 + random()));
}

/**
 * Seconds from a Retry-After header (delay-seconds or an HTTP date), at most
 * `MAX_RETRY_AFTER_SECONDS`; undefined when there is none or it cannot be read.
 */
export function parseRetryAfter(
  value: string | string[] | undefined,
  now: number = Date.now(),
): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === '') {
    return undefined;
  }
  const seconds = /^\s*\d+\s*$/.test(text)
    ? Number(text)
    : Math.ceil((Date.parse(text) - now) / 1000);
  if (Number.isNaN(seconds)) {
    return undefined;
  }
  return Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(0, seconds));
}
