import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, Socket } from 'node:net';
import { Logger } from '@nestjs/common';
import type WebSocket from 'ws';
import type { WebSocketServer } from 'ws';
import { MetricsService } from '@app/metrics/metrics.service';
import { InProcessTransport, MessageBus } from '@libs/bus';
import { PreparedFrame, WebSocketInternals } from './prepared-frame';
import { RealtimeMetrics } from './realtime-metrics';
import { checkWsFastPath, fastPathProblems, socketsWs, WsFastPath } from './ws-fast-path';

const ws = socketsWs();

/** A server of the `ws` that makes the application's sockets, on 127.0.0.1, and its sockets. */
async function startServer(): Promise<{ server: WebSocketServer; url: string; port: number }> {
  const server = new ws.WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return { server, url: `ws://127.0.0.1:${port}`, port };
}

async function withPair<T>(
  use: (socket: WebSocket, client: WebSocket) => Promise<T> | T,
): Promise<T> {
  const { server, url } = await startServer();
  const accepted = once(server, 'connection');
  const client = new ws.WebSocket(url);
  try {
    const [socket] = (await accepted) as [WebSocket];
    await once(client, 'open');
    return await use(socket, client);
  } finally {
    client.terminate();
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('the WebSocket fast path (PreparedFrame) and its start-up check', () => {
  const fastPathBefore = PreparedFrame.fastPathEnabled;
  afterEach(() => PreparedFrame.useFastPath(fastPathBefore));

  it("makes sockets with the application's own ws: one copy in the tree", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    expect(ws).toBe(require('ws'));
  });

  it('finds in the installed ws the private parts it uses, with their types', async () => {
    await withPair((socket) => {
      const internals = socket as unknown as WebSocketInternals;
      expect(internals._socket).toBeInstanceOf(Socket);
      expect(typeof internals._socket?.write).toBe('function');
      expect(internals._sender?._state).toBe(0);
      expect(typeof internals._sender?.constructor.frame).toBe('function');
      expect(fastPathProblems(socket)).toEqual([]);
    });
    await expect(checkWsFastPath()).resolves.toEqual([]);
  });

  it('puts on the wire exactly the bytes socket.send does', async () => {
    const { server, port } = await startServer();
    // A raw TCP client, so that the test reads the bytes themselves, not what a ws client makes of them.
    const raw = connect(port, '127.0.0.1');
    try {
      await once(raw, 'connect');
      const accepted = once(server, 'connection');
      raw.write(
        'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
      const [socket] = (await accepted) as [WebSocket];
      const payload = Buffer.from(
        JSON.stringify({ event: 'pong', data: { text: 'é'.repeat(200) } }),
      );
      let bytes = Buffer.alloc(0);
      raw.on('data', (chunk: Buffer) => (bytes = Buffer.concat([bytes, chunk])));
      const send = jest.spyOn(socket, 'send');

      PreparedFrame.useFastPath(true);
      new PreparedFrame(payload).writeTo(socket);
      // Positive control: the frame above did not go through send (the fast path ran) ...
      expect(send).not.toHaveBeenCalled();
      socket.send(payload, { binary: false });

      // ... and the same frame through ws follows it on the wire, byte for byte.
      const frameLength = 4 + payload.length; // 0x81, 126, a 16-bit length, the payload
      const headerEnd = () => bytes.indexOf('\r\n\r\n') + 4;
      const deadline = Date.now() + 5_000;
      while (headerEnd() < 4 || bytes.length < headerEnd() + 2 * frameLength) {
        expect(Date.now()).toBeLessThan(deadline);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const frames = bytes.subarray(headerEnd());
      const [fast, sent] = [frames.subarray(0, frameLength), frames.subarray(frameLength)];
      expect(sent.equals(fast)).toBe(true);
      expect([...fast.subarray(0, 4)]).toEqual([
        0x81,
        126,
        payload.length >> 8,
        payload.length & 255,
      ]);
      expect(fast.subarray(4).equals(payload)).toBe(true);
    } finally {
      raw.destroy();
      server.clients.forEach((client) => client.terminate());
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('names a private part that is gone', async () => {
    await withPair((socket) => {
      const sender = (socket as unknown as { _sender: Record<string, unknown> })._sender;
      sender.renamedState = sender._state;
      delete sender._state;
      expect(fastPathProblems(socket)).toEqual(['socket._sender._state is undefined, not 0']);
    });
  });

  it('turns the fast path off loudly when the check fails, and frames still arrive in order', async () => {
    const metricsService = new MetricsService();
    const metrics = new RealtimeMetrics(metricsService, new MessageBus(new InProcessTransport()));
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const check = jest
      .spyOn(WsFastPath.prototype as unknown as { check(): Promise<string[]> }, 'check')
      .mockResolvedValue(['socket._sender is missing']);
    try {
      PreparedFrame.useFastPath(true);
      await new WsFastPath(metrics).onModuleInit();

      expect(PreparedFrame.fastPathEnabled).toBe(false);
      expect((await metrics.wsFastPathEnabled.get()).values[0].value).toBe(0);
      expect(warn).toHaveBeenCalledWith(expect.stringContaining('socket._sender is missing'));
      await withPair(async (socket, client) => {
        const send = jest.spyOn(socket, 'send');
        const texts: string[] = [];
        const all = new Promise<void>((resolve) =>
          client.on('message', (data: Buffer) => texts.push(data.toString()) === 3 && resolve()),
        );
        for (const n of [1, 2, 3]) {
          PreparedFrame.of('pong', { n } as never).writeTo(socket);
        }
        await all;
        expect(send).toHaveBeenCalledTimes(3);
        expect(texts.map((text) => (JSON.parse(text) as { data: { n: number } }).data.n)).toEqual([
          1, 2, 3,
        ]);
      });
    } finally {
      check.mockRestore();
      warn.mockRestore();
    }
  });
});
