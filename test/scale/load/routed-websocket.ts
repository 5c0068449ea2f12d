import type { IncomingMessage } from 'node:http';
import WebSocket, { ClientOptions } from 'ws';
import type { WebSocketConstructor } from '@libs/client';
import { DeliveryTally } from './delivery-tally';

/**
 * Where this process's connections go: plays the load balancer in front of the fleet. After an
 * instance is killed, its route points at the survivor, as a balancer's health check would.
 */
export interface FleetRoutes {
  /** Base URLs (`ws://127.0.0.1:port`) by instance. */
  readonly urls: string[];
  /** routes[i]: the instance that connections meant for instance i reach now. */
  readonly routes: number[];
  /** This process's loopback source address. */
  readonly localAddress: string;
}

/** Upgrades answered with an HTTP status instead of a 101, by status (and `503 with Retry-After`). */
export type Refusals = Record<string, number>;

export type RoutedWebSocket = WebSocket & { readonly instance: number };

/**
 * A `ws` WebSocket class for RealtimeClient and the raw sockets alike: connects from the
 * process's source address through `routes`, counts live deliveries as frames arrive and counts
 * refused upgrades (RealtimeClient only sees that the connection failed).
 */
export function routedWebSocketClass(
  fleet: FleetRoutes,
  tally: DeliveryTally,
  refusals: Refusals,
  errors: Record<string, number>,
  handshakeTimeoutMs: number,
): (new (url: string, options?: ClientOptions) => RoutedWebSocket) & WebSocketConstructor {
  return class extends WebSocket {
    readonly instance: number;

    constructor(url: string, options: ClientOptions = {}) {
      const meant = fleet.urls.findIndex((base) => url.startsWith(base));
      if (meant < 0) {
        throw new Error(`${url} is not an instance of the fleet`);
      }
      const instance = fleet.routes[meant];
      super(fleet.urls[instance] + url.slice(fleet.urls[meant].length), {
        ...options,
        localAddress: fleet.localAddress,
        perMessageDeflate: false,
        // The load generator trusts the server's text: no per-frame UTF-8 check.
        skipUTF8Validation: true,
        handshakeTimeout: handshakeTimeoutMs,
      });
      this.instance = instance;
      this.on('message', (data: Buffer) => tally.count(data, instance));
      // Why connections fail, by message without addresses and ports ("connect ECONNREFUSED").
      this.on('error', (error: Error) => {
        const kind = error.message.replace(/\s*\d+\.\d+\.\d+\.\d+:\d+/g, '').slice(0, 80);
        errors[kind] = (errors[kind] ?? 0) + 1;
      });
    }

    // ws calls this on every answer that is not a 101, whether or not anyone listens (and a
    // listener would change what ws does next), so the count is taken here.
    override emit(event: string | symbol, ...args: unknown[]): boolean {
      if (event === 'unexpected-response') {
        const response = args[1] as IncomingMessage;
        const status = String(response.statusCode);
        refusals[status] = (refusals[status] ?? 0) + 1;
        if (response.headers['retry-after'] !== undefined) {
          refusals[`${status} with Retry-After`] =
            (refusals[`${status} with Retry-After`] ?? 0) + 1;
        }
      }
      return super.emit(event, ...args);
    }
  };
}
