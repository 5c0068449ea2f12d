import { serveRunner } from '@bench/support/worker-protocol';
import { closeSocket, connect, handshakeRounds, HandshakeResult, WsTarget } from './ws-connections';

export interface HandshakeLoad extends WsTarget {
  connections: number;
  concurrency: number;
  seconds: number;
}

/**
 * WebSocket handshake load: `connections` times, `concurrency` at once, open a connection (token
 * in the Authorization header), join the room if there is one, close, wait for the close. Bounded
 * by count and by time.
 */
function run(load: HandshakeLoad): Promise<HandshakeResult> {
  return handshakeRounds(load, async () => closeSocket(await connect(load)));
}

serveRunner({ run });
