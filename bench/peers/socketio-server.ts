import { createSecretKey, randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import Redis from 'ioredis';
import { Server, Socket } from 'socket.io';
import { signHs256, verifyHs256 } from '@app/auth/hs256-token';
import { serveRunner } from '@bench/support/worker-protocol';

/** What the runner asks for: in-memory adapter, or the Redis adapter on this URL and prefix. */
export interface SocketIoPeerOptions {
  redisUrl?: string;
  keyPrefix: string;
}

export interface SocketIoPeer {
  port: number;
  /** An access token this peer accepts (HS256, signed with its own key). */
  token: string;
}

interface SendData {
  roomId: string;
  body: string;
  clientMsgId: string;
}

/**
 * The peer a NestJS user would pick for the same job: Socket.IO 4.8, websocket transport only (no
 * long-polling, no compression), with its in-memory adapter or `@socket.io/redis-adapter` on
 * ioredis. It does what a minimal chat server on it does, as cheaply as it allows: a handshake
 * middleware that verifies an HS256 access token with node:crypto (the same function
 * Switchboard uses), `join` with an acknowledgement, and `send` broadcast to the room with
 * `io.to(room).emit` (Socket.IO encodes the packet once per broadcast). Nothing is stored, no
 * membership is checked, no rate is limited: Switchboard's side does all of that too.
 * GET /heap answers `{heapUsed}` as the bare `ws` server does.
 */
async function listen(options: SocketIoPeerOptions): Promise<SocketIoPeer> {
  const key = createSecretKey(randomBytes(32));
  const now = Math.floor(Date.now() / 1000);
  const token = signHs256({ sub: randomUUID(), sid: randomUUID(), iat: now, exp: now + 7200 }, key);
  const http = createServer((_request, response) => {
    response.setHeader('Content-Type', 'application/json');
    response.end(JSON.stringify({ heapUsed: process.memoryUsage().heapUsed }));
  });
  const io = new Server(http, {
    transports: ['websocket'],
    serveClient: false,
    perMessageDeflate: false,
    httpCompression: false,
  });
  if (options.redisUrl) {
    const publisher = new Redis(options.redisUrl);
    io.adapter(
      createAdapter(publisher, publisher.duplicate(), { key: `${options.keyPrefix}socket.io` }),
    );
  }
  io.use((socket, next) => {
    const presented = (socket.handshake.auth as { token?: unknown }).token;
    const claims =
      typeof presented === 'string'
        ? verifyHs256(presented, key, Math.floor(Date.now() / 1000))
        : null;
    if (!claims) {
      next(new Error('unauthenticated'));
      return;
    }
    (socket.data as { userId: string }).userId = claims.sub;
    next();
  });
  let seq = 0;
  io.on('connection', (socket: Socket) => {
    socket.on('join', async (roomId: unknown, ack: unknown) => {
      if (typeof roomId === 'string' && typeof ack === 'function') {
        await socket.join(roomId);
        (ack as (answer: object) => void)({ roomId });
      }
    });
    socket.on('send', (data: SendData) => {
      io.to(data.roomId).emit('message', {
        id: randomUUID(),
        roomId: data.roomId,
        seq: ++seq,
        senderId: (socket.data as { userId: string }).userId,
        body: data.body,
        clientMsgId: data.clientMsgId,
        createdAt: new Date().toISOString(),
      });
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const address = http.address();
  return { port: typeof address === 'object' && address ? address.port : 0, token };
}

serveRunner({ listen });
