import type { Socket } from 'node:net';
import type WebSocket from 'ws';

/** The message being fanned out now: its marker and how far its delivery got. */
export interface Arrivals {
  marker: Buffer;
  received: number;
  lastAt: number;
}

/**
 * Takes a connection's incoming bytes away from ws's frame parser and only counts how often the
 * current marker passes by (carrying a marker's length across TCP chunks). A parsing client
 * costs about as much CPU per frame as the server spends sending it, so on a 2-core machine it,
 * not the server, would cap a fan-out; counting raw bytes costs a fraction of that. Sending
 * still goes through ws, and FanoutAudience's keep-alive stands in for the heartbeat answers the
 * detached parser no longer gives.
 */
export function countArrivals(socket: WebSocket, current: () => Arrivals | undefined): void {
  const raw = (socket as unknown as { _socket: Socket })._socket;
  raw.removeAllListeners('data');
  let carry = Buffer.alloc(0);
  raw.on('data', (chunk: Buffer) => {
    const arrivals = current();
    if (!arrivals) {
      carry = Buffer.alloc(0);
      return;
    }
    const data = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
    const { marker } = arrivals;
    for (let at = data.indexOf(marker); at !== -1; at = data.indexOf(marker, at + marker.length)) {
      arrivals.received++;
      arrivals.lastAt = performance.now();
    }
    carry = Buffer.from(data.subarray(Math.max(0, data.length - marker.length + 1)));
  });
}
