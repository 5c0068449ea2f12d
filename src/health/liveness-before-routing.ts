import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { liveness, LIVENESS_PATH } from './liveness';

/**
 * Answers `GET /health` from a Fastify hook, with the route's own answer. The route has nothing
 * for Nest to run (`@Public()`, `@SkipThrottle()`, no pipes, no interceptors), so its router
 * would only add cost to the request a load balancer sends most often. Headers, the request log
 * and the metrics are Fastify hooks and see it as any other answer; load shedding never sheds it.
 */
@Injectable()
export class LivenessBeforeRouting implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onRequest', (request, reply, done) => {
      if (request.method === 'GET' && request.routeOptions.url === LIVENESS_PATH) {
        void reply.send(liveness());
        return;
      }
      done();
    });
  }
}
