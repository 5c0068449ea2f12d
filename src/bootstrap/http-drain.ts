import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import type { Server } from 'node:http';
import { Server as NetServer, Socket } from 'node:net';
import { AcceptDescriptors } from './accept-descriptors';

/** While the drain waits for idle keep-alive connections, how often it closes the idle ones. */
const IDLE_SWEEP_MS = 100;

/**
 * The HTTP side of a shutdown, in two steps the shutdown sequence calls in order (see
 * `drainThenClose`): `stopAccepting()` closes the port while the connections already open stay
 * and end after their next response (`Connection: close`); `finish()` waits for them.
 *
 * Idle keep-alive connections are not cut at once: a proxy may be writing a request on one at
 * this very moment, and nginx never retries a POST whose connection failed after it was sent. A
 * proxy under load reuses its pooled connections within milliseconds (each then ends with its
 * answer); the ones still idle after a grace are closed.
 */
@Injectable()
export class HttpDrain implements OnModuleInit {
  private closing = false;
  /** Open HTTP connections; upgraded ones (WebSockets) leave the set: the gateway closes them. */
  private readonly connections = new Set<Socket>();
  private readonly emptied = new Set<() => void>();

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly acceptDescriptors: AcceptDescriptors,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    const server = this.server;
    server.on('connection', (socket: Socket) => {
      this.connections.add(socket);
      socket.once('close', () => this.forget(socket));
    });
    server.on('upgrade', (_request, socket: Socket) => this.forget(socket));
    // A request in flight when the port closed answers with `Connection: close`, so its
    // keep-alive socket ends with the response instead of waiting for the client to hang up.
    // A callback hook, not an async one: an async hook costs every answer a promise.
    fastify.addHook('onSend', (_request, reply, payload, done) => {
      if (this.closing) {
        reply.header('connection', 'close');
      }
      done(null, payload);
    });
  }

  /** Open HTTP connections (WebSockets not counted). */
  get openConnections(): number {
    return this.connections.size;
  }

  /** The port refuses new connections from now on; open ones end after their next response. */
  stopAccepting(): void {
    this.closing = true;
    // net.Server's close, not http.Server's: that one also destroys every idle keep-alive
    // connection at once (Node 19+), racing a request a proxy may be sending on it.
    NetServer.prototype.close.call(this.server, () => undefined);
    void this.acceptDescriptors.close();
  }

  /**
   * Resolves once every HTTP connection has ended: by itself within `idleGraceMs`, else idle
   * ones are closed, and busy ones end with their response. Gives up at `deadline` (epoch ms) and
   * returns how many were still open.
   */
  async finish(idleGraceMs: number, deadline: number): Promise<number> {
    await this.untilEmptyOr(Math.min(Date.now() + idleGraceMs, deadline));
    while (this.connections.size > 0 && Date.now() < deadline) {
      this.server.closeIdleConnections();
      await this.untilEmptyOr(Math.min(Date.now() + IDLE_SWEEP_MS, deadline));
    }
    return this.connections.size;
  }

  private get server(): Server {
    return this.adapterHost.httpAdapter.getInstance<FastifyInstance>().server;
  }

  private forget(socket: Socket): void {
    this.connections.delete(socket);
    if (this.connections.size === 0) {
      for (const resolve of [...this.emptied]) {
        resolve();
      }
    }
  }

  private untilEmptyOr(deadline: number): Promise<void> {
    if (this.connections.size === 0 || Date.now() >= deadline) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.emptied.delete(done);
        resolve();
      };
      const timer = setTimeout(done, deadline - Date.now());
      this.emptied.add(done);
    });
  }
}
