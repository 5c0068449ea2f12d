import { applyDecorators, HttpStatus, UseGuards } from '@nestjs/common';
import { CacheResponse } from '@libs/cache';
import { ApiCachedRead, ApiErrors } from '@app/openapi/api-errors.decorator';
import { roomReadTags, RoomCachedPart } from './room-cache';
import { RoomReadGuard } from './room-read.guard';

/**
 * A cached read of one part of the room `:id`, shared by all who may read it (the details, which
 * carry the caller's read position, per caller): `RoomReadGuard`
 * decides access first (404 otherwise), then the response cache answers, tagged so that the
 * writes that change that part remove it (see `RoomCache`). The guard and the cache go together
 * here so that no room route can have one without the other.
 */
export function CachedRoomRead(part: RoomCachedPart): MethodDecorator {
  return applyDecorators(
    UseGuards(RoomReadGuard),
    CacheResponse({
      perCaller: part === 'details',
      tags: ({ params }, caller) => roomReadTags(params.id, part, caller),
    }),
    ApiErrors(HttpStatus.NOT_FOUND),
    ApiCachedRead(),
  );
}
