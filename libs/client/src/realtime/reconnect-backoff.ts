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
