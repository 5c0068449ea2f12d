import { ForbiddenException, Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { HttpExecutionContext } from '@libs/cache';
import { namedRouteOf } from '@app/bootstrap/route-handlers';
import { GlobalExceptionFilter } from '@app/common/errors/global-exception.filter';
import { AppThrottlerGuard } from './app-throttler.guard';

/**
 * Runs the rate limits of a request's route before its body is read: Fastify reads and parses
 * the body (413, 415, malformed JSON, nesting too deep) before Nest's guards, so without this a
 * flood of bad bodies was answered 400 for ever, never 429, and its 400s carried no
 * `X-RateLimit-*` headers. The guard is the one Nest runs, on the same request and reply; it
 * counts a request once (`AppThrottlerGuard`), so Nest's own run of it later costs a flag check.
 * A 429 is answered by the global exception filter, as Nest would answer it.
 */
@Injectable()
export class ThrottleBeforeParsing implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly guard: AppThrottlerGuard,
    private readonly filter: GlobalExceptionFilter,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('preParsing', (request, reply, payload, done) => {
      const route = namedRouteOf(request);
      if (!route) {
        done(null, payload);
        return;
      }
      const context = new HttpExecutionContext([request, reply], route.controller, route.handler);
      this.guard.canActivate(context).then(
        (allowed) =>
          allowed
            ? done(null, payload)
            : // What Nest's guard consumer throws for a guard that says no.
              this.filter.catch(new ForbiddenException('Forbidden resource'), context),
        (error: unknown) => this.filter.catch(error, context),
      );
    });
  }
}
