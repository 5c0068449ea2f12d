import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger as PinoInstance } from 'pino';
import { Loggers, LOGGERS } from './logging.tokens';
import { redactUrl } from './redact-url';

const REDACTED = '[redacted]';

/**
 * One log line per answered request, with its id, written by a Fastify hook so that every answer
 * is logged (404s, 413s, 429s, shed 503s and cache hits answered before Nest's routing too).
 * The line is built from the few fields worth keeping instead of serializing and redacting all
 * of the request: secrets never get into it, and a line costs microseconds.
 */
@Injectable()
export class RequestLog implements OnModuleInit {
  private readonly logger: PinoInstance;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(LOGGERS) loggers: Loggers,
  ) {
    this.logger = loggers.requests;
  }

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onResponse', (request, reply, done) => {
      this.write(request, reply);
      done();
    });
  }

  private write(request: FastifyRequest, reply: FastifyReply): void {
    const statusCode = reply.statusCode;
    const level = statusCode >= 500 ? 'error' : 'info';
    if (!this.logger.isLevelEnabled(level)) {
      return;
    }
    const { headers } = request;
    this.logger[level](
      {
        requestId: request.id,
        req: {
          id: request.id,
          method: request.method,
          url: redactUrl(request.url),
          remoteAddress: request.ip,
          headers: {
            'user-agent': headers['user-agent'],
            // Whether credentials came, never what they were.
            authorization: headers.authorization === undefined ? undefined : REDACTED,
          },
        },
        res: { statusCode },
        responseTime: Math.round(reply.elapsedTime),
      },
      statusCode >= 500 ? 'request errored' : 'request completed',
    );
  }
}
