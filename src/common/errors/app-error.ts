import { HttpStatus } from '@nestjs/common';

/**
 * Stable codes for the errors features raise on purpose. Clients may branch on `code`; the HTTP
 * status of each is decided here and only here.
 */
export const APP_ERROR_STATUS = {
  invalid_credentials: HttpStatus.UNAUTHORIZED,
  invalid_refresh_token: HttpStatus.UNAUTHORIZED,
  unauthenticated: HttpStatus.UNAUTHORIZED,
  username_taken: HttpStatus.CONFLICT,
  not_found: HttpStatus.NOT_FOUND,
  forbidden: HttpStatus.FORBIDDEN,
  conflict: HttpStatus.CONFLICT,
  not_a_member: HttpStatus.FORBIDDEN,
  owner_cannot_leave: HttpStatus.CONFLICT,
  owner_cannot_be_banned: HttpStatus.CONFLICT,
  new_owner_not_member: HttpStatus.CONFLICT,
  banned: HttpStatus.FORBIDDEN,
  cannot_message_self: HttpStatus.BAD_REQUEST,
  nesting_too_deep: HttpStatus.BAD_REQUEST,
  not_operator: HttpStatus.FORBIDDEN,
} as const satisfies Record<string, HttpStatus>;

export type AppErrorCode = keyof typeof APP_ERROR_STATUS;

export class AppError extends Error {
  constructor(
    readonly code: AppErrorCode,
    message: string,
  ) {
    super(message);
    this.name = AppError.name;
  }

  get status(): HttpStatus {
    return APP_ERROR_STATUS[this.code];
  }
}
