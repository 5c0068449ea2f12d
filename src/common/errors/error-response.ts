import { STATUS_CODES } from 'node:http';

/** One field a request got wrong: `{ field: "password", message: "…" }`. */
export interface FieldError {
  field: string;
  message: string;
}

/** The body of every error answer (PRODUCT.md): `statusCode`, `error`, `message`, and more. */
export interface ErrorResponse {
  statusCode: number;
  error: string;
  message: string;
  code?: string;
  details?: FieldError[];
  requestId?: string;
}

export function errorResponse(
  statusCode: number,
  message: string,
  extra: Pick<ErrorResponse, 'code' | 'details' | 'requestId'> = {},
): ErrorResponse {
  return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message, ...extra };
}
