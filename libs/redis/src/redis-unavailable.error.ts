/** Redis cannot take the command now (circuit open, disconnected, closed): it was not sent. */
export class RedisUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = RedisUnavailableError.name;
  }
}
