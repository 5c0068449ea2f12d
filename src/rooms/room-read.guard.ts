import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { AuthenticatedUser } from '@app/auth/authenticated-user';
import { AppError } from '@app/common/errors/app-error';
import { ParseIdPipe } from '@app/common/validation/canonical-id';
import { RoomsService } from './rooms.service';

interface RoomReadRequest {
  params: { id?: string };
  user?: AuthenticatedUser;
}

/**
 * Lets a request read the room `:id` only when `RoomsService` says the caller may: a public room,
 * or one they are a member of; anyone else gets the 404 of a room that does not exist. A guard,
 * so that it decides before the response cache answers, on every request, hit or miss.
 */
@Injectable()
export class RoomReadGuard implements CanActivate {
  // The route's own pipe, run first: a guard that let a malformed id through unchecked would let
  // the cache answer for it.
  private readonly roomIdPipe = new ParseIdPipe();

  constructor(private readonly rooms: RoomsService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<RoomReadRequest>();
    if (!request.user) {
      throw new AppError('unauthenticated', 'A valid access token is required');
    }
    const roomId = await this.roomIdPipe.transform(request.params.id ?? '', {
      type: 'param',
      data: 'id',
    });
    await this.rooms.assertReadable(request.user.id, roomId);
    return true;
  }
}
