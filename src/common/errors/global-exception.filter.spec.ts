import { ArgumentsHost, BadRequestException, NotFoundException } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ThrottlerException } from '@nestjs/throttler';
import { RequestValidationError } from '@app/common/validation/request-validation.error';
import { AppError } from './app-error';
import { ErrorResponse } from './error-response.dto';
import { GlobalExceptionFilter } from './global-exception.filter';

describe(GlobalExceptionFilter.name, () => {
  const replies: { body: ErrorResponse; status: number; headers: Record<string, string> }[] = [];
  let headers: Record<string, string> = {};
  const adapterHost = {
    httpAdapter: {
      setHeader: (_response: unknown, name: string, value: string) => {
        headers[name] = value;
      },
      reply: (_response: unknown, body: ErrorResponse, status: number) =>
        replies.push({ body, status, headers }),
    },
  } as unknown as HttpAdapterHost;
  const host = {
    getType: () => 'http',
    switchToHttp: () => ({ getRequest: () => ({ id: 'req-1' }), getResponse: () => ({}) }),
  } as unknown as ArgumentsHost;
  const filter = new GlobalExceptionFilter(adapterHost);

  function answerTo(exception: unknown) {
    replies.length = 0;
    headers = {};
    filter.catch(exception, host);
    return replies[0];
  }

  it('maps a feature error to its status and stable code', () => {
    expect(answerTo(new AppError('username_taken', 'That username is taken'))).toEqual({
      status: 409,
      headers: {},
      body: {
        statusCode: 409,
        error: 'Conflict',
        message: 'That username is taken',
        code: 'username_taken',
        requestId: 'req-1',
      },
    });
  });

  it('lists each bad field of a validation error', () => {
    const error = new RequestValidationError([
      { field: 'username', message: 'username must be a string' },
      { field: 'password', message: 'password is too short' },
    ]);

    expect(answerTo(error).body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'username must be a string; password is too short',
      details: [
        { field: 'username', message: 'username must be a string' },
        { field: 'password', message: 'password is too short' },
      ],
      requestId: 'req-1',
    });
  });

  it('keeps the message of a Nest HTTP exception', () => {
    expect(answerTo(new NotFoundException('Cannot GET /x')).body).toMatchObject({
      statusCode: 404,
      error: 'Not Found',
      message: 'Cannot GET /x',
    });
    expect(answerTo(new BadRequestException(['a is bad', 'b is bad'])).body.message).toBe(
      'a is bad; b is bad',
    );
  });

  it('names the Bearer scheme on a 401, and only there', () => {
    expect(answerTo(new AppError('unauthenticated', 'No token')).headers).toEqual({
      'WWW-Authenticate': 'Bearer',
    });
    expect(answerTo(new NotFoundException()).headers).toEqual({});
  });

  it('answers a rate limit with 429', () => {
    expect(answerTo(new ThrottlerException())).toMatchObject({
      status: 429,
      body: { statusCode: 429, error: 'Too Many Requests' },
    });
  });

  it('hides the internals of an unknown error behind a generic 500', () => {
    const logError = jest.spyOn(filter['logger'], 'error').mockImplementation(() => undefined);

    const answer = answerTo(new Error('connect ECONNREFUSED 10.0.0.7:5432 password=hunter2'));

    expect(answer).toEqual({
      status: 500,
      headers: {},
      body: {
        statusCode: 500,
        error: 'Internal Server Error',
        message: 'Internal server error',
        requestId: 'req-1',
      },
    });
    expect(logError).toHaveBeenCalledTimes(1);
  });
});
