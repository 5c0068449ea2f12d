import { BeforeApplicationShutdown, Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';

/**
 * On shutdown, closes the HTTP server before the modules' resources (the database, Redis) go:
 * new connections are refused and in-flight requests finish against live dependencies.
 * Nest closes its HTTP adapter only after those, in `dispose()`.
 *
 * Order inside `app.close()`: onModuleDestroy (the gateway closes its sockets with 1001), then
 * this, then onApplicationShutdown (TypeORM, Redis).
 */
@Injectable()
export class HttpDrain implements OnModuleInit, BeforeApplicationShutdown {
  private draining = false;

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    // A request that was in flight when the drain began answers with `Connection: close`, so
    // its keep-alive socket ends with the response. Otherwise the server would wait for the
    // client to hang up (Fastify's keep-alive timeout is 72 s) and the drain would time out.
    this.adapterHost.httpAdapter
      .getInstance<FastifyInstance>()
      .addHook('onSend', async (_request, reply, payload) => {
        if (this.draining) {
          reply.header('connection', 'close');
        }
        return payload;
      });
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.draining = true;
    await this.adapterHost.httpAdapter.close();
  }
}
