import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';

/**
 * On shutdown, closes the HTTP server before the modules' resources (the database, Redis) go:
 * new connections are refused and in-flight requests finish against live dependencies.
 * Nest closes its HTTP adapter only after those, in `dispose()`.
 *
 * Order inside `app.close()`: onModuleDestroy (the gateway closes its sockets with 1001), then
 * this, then onApplicationShutdown (TypeORM, Redis).
 */
@Injectable()
export class HttpDrain implements BeforeApplicationShutdown {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  async beforeApplicationShutdown(): Promise<void> {
    await this.adapterHost.httpAdapter.close();
  }
}
