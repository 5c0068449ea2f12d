/** The transport cannot take the message now (Redis unreachable, bus closed): nothing was sent. */
export class BusUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = BusUnavailableError.name;
  }
}
