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

/** Upgrades answered with an HTTP status instead of a 101, by status. */
export type Refusals = Record<string, number>;

const REFUSED = /Unexpected server response: (\d+)/;

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
      this.on('error', (error: Error) => {
        const status = REFUSED.exec(error.message)?.[1];
        if (status) {
          refusals[status] = (refusals[status] ?? 0) + 1;
        }
      });
    }
  };
}
