import { applyDecorators, HttpStatus } from '@nestjs/common';
import { ApiExtension, ApiResponse } from '@nestjs/swagger';
import { ErrorResponse } from '@app/common/errors/error-response.dto';
import { BODY_REFUSALS, CACHED_READ_EXTENSION } from './response-conventions';

const DESCRIPTIONS: Partial<Record<HttpStatus, string>> = {
  [HttpStatus.BAD_REQUEST]: 'The request is malformed or a field is invalid (each one is named)',
  [HttpStatus.UNAUTHORIZED]: 'No valid access token (or wrong credentials)',
  [HttpStatus.FORBIDDEN]: 'Only the owner may do this',
  [HttpStatus.NOT_FOUND]: 'No such resource, or not visible to the caller',
  [HttpStatus.CONFLICT]: 'Conflicts with the current state',
  [HttpStatus.PAYLOAD_TOO_LARGE]: BODY_REFUSALS['413'],
  [HttpStatus.UNSUPPORTED_MEDIA_TYPE]: BODY_REFUSALS['415'],
  [HttpStatus.TOO_MANY_REQUESTS]: 'Over a rate limit; retry after the Retry-After delay',
};

/** Documents the error answers a route (or every route of a controller) can give. */
export function ApiErrors(...statuses: HttpStatus[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({ status, description: DESCRIPTIONS[status], type: ErrorResponse }),
    ),
  );
}

/** Documents a read the response cache answers: `X-Cache`, and unknown query parameters refused. */
export const ApiCachedRead = () => ApiExtension(CACHED_READ_EXTENSION, true);
