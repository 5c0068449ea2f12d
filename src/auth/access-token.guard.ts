import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AppError } from '@app/common/errors/app-error';
import { AccessTokensService } from './access-tokens.service';
import { AuthenticatedUser } from './authenticated-user';
import { IS_PUBLIC } from './authenticated.decorator';

interface RequestWithUser {
  headers: Record<string, string | string[] | undefined>;
  user?: AuthenticatedUser;
}

/** Global guard: every HTTP route needs a valid access token unless it is `@Public()`. */
@Injectable()
export class AccessTokenGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly accessTokens: AccessTokensService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') {
      return true;
    }
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic) {
      return true;
    }
    const request = context.switchToHttp().getRequest<RequestWithUser>();
    const token = bearerToken(request.headers.authorization);
    const user = token && (await this.accessTokens.authenticate(token));
    if (!user) {
      throw new AppError('unauthenticated', 'A valid access token is required');
    }
    request.user = user;
    return true;
  }
}

/** The token of an `Authorization: Bearer <token>` header. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const match = value && /^Bearer\s+(\S+)\s*$/i.exec(value);
  return match ? match[1] : undefined;
}
