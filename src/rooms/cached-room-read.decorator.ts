import { applyDecorators, HttpStatus, UseGuards } from '@nestjs/common';
import { CacheResponse } from '@libs/cache';
import { ApiCachedRead, ApiErrors } from '@app/openapi/api-errors.decorator';
import { roomReadTags, RoomCachedPart } from './room-cache';
import { RoomReadGuard } from './room-read.guard';

/**
 * A cached read of one part of the room `:id`, shared by all who may read it: `RoomReadGuard`
 * decides access first (404 otherwise), then the response cache answers, tagged so that the
 * writes that change that part remove it (see `RoomCache`). The guard and the cache go together
 * here so that no room route can have one without the other.
 */
export function CachedRoomRead(part: RoomCachedPart): MethodDecorator {
  return applyDecorators(
    UseGuards(RoomReadGuard),
    CacheResponse({ tags: ({ params }) => roomReadTags(params.id, part) }),
    ApiErrors(HttpStatus.NOT_FOUND),
    ApiCachedRead(),
  );
}
