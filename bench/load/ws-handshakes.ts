import { serveRunner } from '@bench/support/worker-protocol';
import { closeSocket, connect, runBounded, WsTarget } from './ws-connections';

export interface HandshakeLoad extends WsTarget {
  connections: number;
  concurrency: number;
  seconds: number;
}

export interface HandshakeResult {
  completed: number;
  failed: number;
  firstError?: string;
  seconds: number;
}

/**
 * WebSocket handshake load: `connections` times, `concurrency` at once, open a connection (token
 * in the Authorization header), join the room if there is one, close, wait for the close. Bounded
 * by count and by time.
 */
async function run(load: HandshakeLoad): Promise<HandshakeResult> {
  const startedAt = performance.now();
  const outcome = await runBounded(
    load.connections,
    load.concurrency,
    startedAt + load.seconds * 1000,
    async () => closeSocket(await connect(load)),
  );
  return {
    completed: outcome.succeeded,
    failed: outcome.failed,
    firstError: outcome.firstError,
    seconds: (performance.now() - startedAt) / 1000,
  };
}

serveRunner({ run });
