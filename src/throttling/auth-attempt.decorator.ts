import { applyDecorators, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';
import { AUTH_LIMIT_EXTENSION } from '@app/openapi/response-conventions';

const IS_AUTH_ATTEMPT = 'switchboard:isAuthAttempt';

/**
 * Marks a route that guesses a password could go through (login, register): it gets the stricter
 * `auth` limit (AUTH_THROTTLE_LIMIT per AUTH_THROTTLE_TTL_MS) on top of the default one.
 */
export const AuthAttempt = () =>
  applyDecorators(SetMetadata(IS_AUTH_ATTEMPT, true), ApiExtension(AUTH_LIMIT_EXTENSION, true));

export function isAuthAttempt(context: ExecutionContext): boolean {
  return Reflect.getMetadata(IS_AUTH_ATTEMPT, context.getHandler()) === true;
}
