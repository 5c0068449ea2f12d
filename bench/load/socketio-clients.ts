import { io, Socket } from 'socket.io-client';
import { serveRunner } from '@bench/support/worker-protocol';
import { handshakeRounds, HandshakeResult, runBounded } from './ws-connections';

/** Where the Socket.IO peer listens and what a client presents. */
export interface SocketIoTarget {
  /** e.g. http://127.0.0.1:43210 */
  url: string;
  token: string;
  roomId: string;
}

const STEP_TIMEOUT_MS = 30_000;

/** Connects over the websocket transport only and joins the room (acknowledged); rejects on failure. */
async function connectAndJoin(target: SocketIoTarget): Promise<Socket> {
  const socket = io(target.url, {
    transports: ['websocket'],
    auth: { token: target.token },
    reconnection: false,
    forceNew: true,
    timeout: STEP_TIMEOUT_MS,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    await socket.timeout(STEP_TIMEOUT_MS).emitWithAck('join', target.roomId);
    return socket;
  } catch (error) {
    socket.disconnect();
    throw error;
  }
}

/** Disconnects; resolves once the transport is closed. */
function disconnect(socket: Socket): Promise<void> {
  const closed = new Promise<void>((resolve) => socket.io.engine.once('close', () => resolve()));
  socket.disconnect();
  return closed;
}

export interface SocketIoHandshakeLoad extends SocketIoTarget {
  connections: number;
  concurrency: number;
  seconds: number;
}

/** Connect, join, disconnect: `connections` times, `concurrency` at once, bounded by time. */
function handshakes(load: SocketIoHandshakeLoad): Promise<HandshakeResult> {
  return handshakeRounds(load, async () => disconnect(await connectAndJoin(load)));
}

const held: Socket[] = [];

/** Opens joined connections until `total` are open (idle memory). */
async function open(
  load: SocketIoTarget & { total: number; concurrency: number; seconds: number },
) {
  const outcome = await runBounded(
    load.total - held.length,
    load.concurrency,
    performance.now() + load.seconds * 1000,
    async () => {
      held.push(await connectAndJoin(load));
    },
  );
  return { open: held.length, failed: outcome.failed, firstError: outcome.firstError };
}

async function closeAll(): Promise<void> {
  await Promise.all(held.splice(0).map(disconnect));
}

serveRunner({ handshakes, open, closeAll });
