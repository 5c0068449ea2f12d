import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ThrottlerException } from '@nestjs/throttler';
import { RequestValidationError } from '@app/common/validation/request-validation.error';
import { AppError } from './app-error';
import { ErrorResponse, errorResponse } from './error-response.dto';

/**
 * Turns every error of an HTTP request into the error shape of PRODUCT.md, with the request id.
 * Unknown errors become a generic 500: their details go to the log, never to the client.
 */
@Catch()
export class GlobalExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(GlobalExceptionFilter.name);

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') {
      return;
    }
    const http = host.switchToHttp();
    const request = http.getRequest<{ id?: string }>();
    const body = { ...this.toErrorResponse(exception), requestId: request.id };
    const response = http.getResponse<unknown>();
    if (body.statusCode === 401) {
      // RFC 6750: a 401 names the scheme that would succeed.
      this.adapterHost.httpAdapter.setHeader(response, 'WWW-Authenticate', 'Bearer');
    }
    this.adapterHost.httpAdapter.reply(response, body, body.statusCode);
  }

  toErrorResponse(exception: unknown): ErrorResponse {
    if (exception instanceof AppError) {
      return errorResponse(exception.status, exception.message, { code: exception.code });
    }
    if (exception instanceof RequestValidationError) {
      return errorResponse(exception.getStatus(), exception.message, {
        details: exception.details,
      });
    }
    if (exception instanceof ThrottlerException) {
      return errorResponse(
        exception.getStatus(),
        'Too many requests; retry after the Retry-After delay',
      );
    }
    if (exception instanceof HttpException) {
      return errorResponse(exception.getStatus(), messageOf(exception));
    }
    this.logger.error(exception instanceof Error ? exception : String(exception));
    return errorResponse(500, 'Internal server error');
  }
}

function messageOf(exception: HttpException): string {
  const response = exception.getResponse();
  if (typeof response === 'string') {
    return response;
  }
  const message = (response as { message?: unknown }).message;
  if (Array.isArray(message)) {
    return message.join('; ');
  }
  return typeof message === 'string' ? message : exception.message;
}
