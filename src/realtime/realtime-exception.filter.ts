import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import { RealtimeErrorCode } from '@libs/protocol';
import { AppError, AppErrorCode } from '@app/common/errors/app-error';
import { RequestValidationError } from '@app/common/validation/request-validation.error';
import type { RealtimeConnection } from './realtime-connection';
import { RealtimeError } from './realtime.error';

/** Feature errors as the WebSocket protocol names them. */
const REALTIME_CODE: Record<AppErrorCode, RealtimeErrorCode> = {
  invalid_credentials: 'unauthenticated',
  invalid_refresh_token: 'unauthenticated',
  unauthenticated: 'unauthenticated',
  username_taken: 'invalid_data',
  not_found: 'not_found',
  forbidden: 'forbidden',
  conflict: 'conflict',
  not_a_member: 'not_member',
  owner_cannot_leave: 'forbidden',
  owner_cannot_be_banned: 'conflict',
  new_owner_not_member: 'conflict',
  // A join refused by a ban: the only `forbidden` answer a `join` gets (its message says so).
  banned: 'forbidden',
  cannot_message_self: 'invalid_data',
  nesting_too_deep: 'nesting_too_deep',
  not_operator: 'forbidden',
};

/** Refusals that are the server's failure, not the client's: they never count as abuse. */
const SERVER_FAULTS: ReadonlySet<RealtimeErrorCode> = new Set(['internal', 'unavailable']);

/**
 * Answers a refused frame with `error {code, message, ref}` on its own connection; the connection
 * stays open. Unknown errors are logged and answered without internals. A refusal the client
 * caused (invalid data, a room it may not use, one that does not exist…) counts against its
 * abuse allowance as a bad frame does in the adapter: a client that keeps sending them is
 * closed with 1008.
 */
@Catch()
export class RealtimeExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(RealtimeExceptionFilter.name);

  /** `host` holds `[connection, payload, ref]` of the frame (FrameRoutes). */
  catch(exception: unknown, host: ArgumentsHost): void {
    const [connection, , ref] = host.getArgs<[RealtimeConnection, unknown, string | undefined]>();
    const { code, message } = this.describe(exception);
    connection.refuse(code, message, ref, !SERVER_FAULTS.has(code));
  }

  private describe(exception: unknown): { code: RealtimeErrorCode; message: string } {
    if (exception instanceof RealtimeError) {
      return { code: exception.code, message: exception.message };
    }
    if (exception instanceof RequestValidationError) {
      return { code: 'invalid_data', message: exception.message };
    }
    if (exception instanceof AppError) {
      return { code: REALTIME_CODE[exception.code], message: exception.message };
    }
    this.logger.error(exception instanceof Error ? exception : String(exception));
    return { code: 'internal', message: 'Internal server error' };
  }
}
