import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { Socket } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { serveRunner } from '@bench/support/worker-protocol';

interface FrameOptions {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
}

// ws exports its Sender (not in @types/ws): `frame` builds one frame's header and payload.
const { Sender } = WebSocket as unknown as {
  Sender: { frame(data: Buffer, options: FrameOptions): Buffer[] };
};
const TEXT_OPCODE = 1;

/**
 * The WebSocket baseline: a bare `ws` server on /ws that accepts every upgrade (no
 * authentication) and, when a client sends `{"event":"send","data":{…}}`, broadcasts a message of
 * Switchboard's shape to every client, pre-framed: the frame (header and payload) is built once
 * with ws's Sender.frame and the same bytes are written to each client's TCP socket. GET /heap
 * answers `{heapUsed}` for the idle-memory scenario.
 */
function listen(): Promise<{ port: number }> {
  const http = createServer((request, response) => {
    response.setHeader('Content-Type', 'application/json');
    response.end(JSON.stringify({ heapUsed: process.memoryUsage().heapUsed }));
  });
  const server = new WebSocketServer({ server: http, path: '/ws' });
  let seq = 0;
  server.on('connection', (socket) => {
    socket.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString('utf8')) as { event: string; data: SendData };
      if (frame.event === 'send') {
        broadcast(server, messageFrame(frame.data, ++seq));
      }
    });
  });
  return new Promise((resolve) =>
    http.listen(0, '127.0.0.1', () => {
      const address = http.address();
      resolve({ port: typeof address === 'object' && address ? address.port : 0 });
    }),
  );
}

interface SendData {
  roomId: string;
  body: string;
  clientMsgId: string;
}

/** The frame of a `message` event, shaped as Switchboard's, built once. */
function messageFrame(send: SendData, seq: number): Buffer {
  const payload = JSON.stringify({
    event: 'message',
    data: {
      id: randomUUID(),
      roomId: send.roomId,
      seq,
      senderId: randomUUID(),
      body: send.body,
      clientMsgId: send.clientMsgId,
      createdAt: new Date().toISOString(),
    },
  });
  const parts = Sender.frame(Buffer.from(payload), {
    fin: true,
    rsv1: false,
    opcode: TEXT_OPCODE,
    mask: false,
    readOnly: false,
  });
  return Buffer.concat(parts);
}

function broadcast(server: WebSocketServer, frame: Buffer): void {
  for (const client of server.clients) {
    if (client.readyState === WebSocket.OPEN) {
      // The raw socket under ws (private field): the bytes go out as built, with no re-framing.
      (client as unknown as { _socket: Socket })._socket.write(frame);
    }
  }
}

serveRunner({ listen });
