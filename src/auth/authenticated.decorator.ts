import {
  applyDecorators,
  createParamDecorator,
  ExecutionContext,
  HttpStatus,
  SetMetadata,
} from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';
import { ApiErrors } from '@app/openapi/api-errors.decorator';
import { AuthenticatedUser } from './authenticated-user';

export const IS_PUBLIC = 'switchboard:isPublic';

/** Opts a route out of the global access-token guard. */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/**
 * Marks a controller or route as needing `Authorization: Bearer <accessToken>`. The global guard
 * enforces it for every route that is not `@Public()`; this documents it in one decorator.
 */
export const Authenticated = () =>
  applyDecorators(ApiBearerAuth(), ApiErrors(HttpStatus.UNAUTHORIZED));

/** The caller of an authenticated route. */
export const CurrentUser = createParamDecorator(
  (_data: unknown, context: ExecutionContext): AuthenticatedUser =>
    context.switchToHttp().getRequest<{ user: AuthenticatedUser }>().user,
);
