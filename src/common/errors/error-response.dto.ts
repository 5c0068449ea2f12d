import { STATUS_CODES } from 'node:http';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** One field a request got wrong. */
export class FieldError {
  /** The field's path, dotted for nested ones. */
  field: string;
  message: string;
}

/** The body of every error answer: `statusCode`, `error`, `message`, and more when known. */
export class ErrorResponse {
  /** The HTTP status, repeated. */
  @ApiProperty({ type: 'integer', format: 'int32', minimum: 400, maximum: 599 })
  statusCode: number;
  /** The status's name, e.g. `Not Found`. */
  @ApiProperty({ maxLength: 64 })
  error: string;
  /** What went wrong, for people. */
  message: string;
  /** A stable code for clients to branch on, for errors a feature raises on purpose. */
  @ApiPropertyOptional({ pattern: '^[a-z_]{1,64}$', maxLength: 64 })
  code?: string;
  /** Each bad field of a request that failed validation. */
  details?: FieldError[];
  /** The request's id, also in the `X-Request-Id` header and the server's log. */
  @ApiPropertyOptional({ pattern: '^[A-Za-z0-9._:-]{1,128}$', maxLength: 128 })
  requestId?: string;
}

export function errorResponse(
  statusCode: number,
  message: string,
  extra: Pick<ErrorResponse, 'code' | 'details' | 'requestId'> = {},
): ErrorResponse {
  return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message, ...extra };
}
