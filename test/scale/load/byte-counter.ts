import type { Socket } from 'node:net';
import type WebSocket from 'ws';
import { BODY, DeliveryTally, QUOTE } from './delivery-tally';

/** A server ping without payload, as the heartbeat sends it: FIN + opcode 9, length 0. */
const PING = Buffer.from([0x89, 0x00]);

/**
 * Takes a joined raw socket's incoming bytes away from ws's frame parser: counts the post bodies
 * passing by (a body cut between two TCP reads is carried over) and answers the heartbeat's pings
 * with a pong, as ws would. A parsing client spends about as much CPU per frame as the server
 * sending it (bench/load/arrival-counter.ts); on a machine the servers share, that would make
 * the load generator the limit. Raw sockets get only live frames once joined (no `sync`), so
 * every body in their stream is a live delivery. Sending still goes through ws.
 */
export function countFromBytes(socket: WebSocket, receiver: number, tally: DeliveryTally): void {
  const raw = (socket as unknown as { _socket: Socket })._socket;
  raw.removeAllListeners('data');
  let carry: Buffer | undefined;
  raw.on('data', (chunk: Buffer) => {
    const carried = carry?.length ?? 0;
    const data = carry ? Buffer.concat([carry, chunk]) : chunk;
    carry = undefined;
    let from = 0;
    for (let at = data.indexOf(BODY); at !== -1; at = data.indexOf(BODY, from)) {
      const end = data.indexOf(QUOTE, at + BODY.length);
      if (end < 0) {
        carry = Buffer.from(data.subarray(at));
        break;
      }
      tally.countBody(data.toString('latin1', at + BODY.length, end), receiver);
      from = end + 1;
    }
    // A ping is answered once: a match must take at least one byte of this chunk.
    if (data.indexOf(PING, Math.max(0, carried - 1)) !== -1) {
      socket.pong();
    }
    // Enough of the end to find a marker (or a ping) cut in two.
    carry ??= Buffer.from(data.subarray(Math.max(from, data.length - BODY.length + 1)));
  });
}
