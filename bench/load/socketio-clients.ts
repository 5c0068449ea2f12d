import { io, Socket } from 'socket.io-client';
import type WebSocket from 'ws';
import { serveRunner } from '@bench/support/worker-protocol';
import { FanoutAudience, FanoutResult, FanoutRun } from './fanout-audience';
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
const audience = new FanoutAudience(held, webSocketOf, answerPing);
let sender: Socket | undefined;

/** The `ws` WebSocket under a client: engine.io-client's websocket transport in Node (private). */
function webSocketOf(socket: Socket): WebSocket {
  return (socket.io.engine.transport as unknown as { ws: WebSocket }).ws;
}

/**
 * As if the server's ping had come in (a private method of the engine): the engine answers with a
 * pong, which the server takes unsolicited and then holds its next ping back, and restarts its
 * own ping timeout, which would otherwise close a client that reads nothing.
 */
function answerPing(socket: Socket): void {
  const engine = socket.io.engine as unknown as { _onPacket(packet: { type: 'ping' }): void };
  engine._onPacket({ type: 'ping' });
}

/** Opens joined connections until `total` are open: idle, or the audience of a fan-out. */
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

/** Sends `messages` messages from a member of the room, timing their arrival at the held ones. */
async function fanout(load: SocketIoTarget & FanoutRun): Promise<FanoutResult> {
  const from = (sender ??= await connectAndJoin(load));
  return audience.run(load, (body) =>
    from.emit('send', { roomId: load.roomId, body, clientMsgId: body }),
  );
}

async function closeAll(): Promise<void> {
  audience.dropCounted();
  const rest = [...held.splice(0), ...(sender ? [sender] : [])];
  sender = undefined;
  await Promise.all(rest.map(disconnect));
}

serveRunner({ handshakes, open, fanout, closeAll });
