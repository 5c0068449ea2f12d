import type { RealtimeErrorCode } from '@libs/protocol';

/** A frame the server refuses: answered with `error {code, message, ref}`, the socket stays open. */
export class RealtimeError extends Error {
  constructor(
    readonly code: RealtimeErrorCode,
    message: string,
  ) {
    super(message);
    this.name = RealtimeError.name;
  }
}
