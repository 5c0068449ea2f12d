import { once } from 'node:events';
import { createRequire } from 'node:module';
import { Socket } from 'node:net';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type WebSocket from 'ws';
import type { WebSocketServer } from 'ws';
import { PreparedFrame, SENDER_IDLE, WebSocketInternals } from './prepared-frame';
import { RealtimeMetrics } from './realtime-metrics';

/** How long the check may take before it counts as failed. */
const CHECK_TIMEOUT_MS = 5_000;
const PROBE = Buffer.from('{"event":"pong","data":{"probe":"fast path ✓"}}');

type WsModule = typeof import('ws');

/** The `ws` that creates the application's sockets: the one `@nestjs/platform-ws` loads. */
export function socketsWs(): WsModule {
  return createRequire(require.resolve('@nestjs/platform-ws'))('ws') as WsModule;
}

/**
 * What the fast path of `PreparedFrame` needs on `socket` (a server-side socket, idle, open),
 * checked by using it: the internals exist with their types, and the bytes it writes are those
 * `socket.send` writes for the same payload. Returns what is wrong; empty when all is well.
 */
export function fastPathProblems(socket: WebSocket): string[] {
  const internals = socket as unknown as WebSocketInternals;
  const problems: string[] = [];
  if (!(internals._socket instanceof Socket)) {
    problems.push('socket._socket is not a net.Socket');
  }
  const sender = internals._sender;
  if (typeof sender !== 'object' || sender === null) {
    problems.push('socket._sender is missing');
  } else {
    if (sender._state !== SENDER_IDLE) {
      problems.push(`socket._sender._state is ${String(sender._state)}, not ${SENDER_IDLE}`);
    }
    if (typeof sender.constructor?.frame !== 'function') {
      problems.push('socket._sender.constructor.frame is not a function');
    }
  }
  if (problems.length > 0) {
    return problems;
  }
  const tcp = internals._socket!;
  const written: Buffer[] = [];
  const write = tcp.write.bind(tcp);
  // What `send` hands to the TCP socket, caught on this one probe socket.
  tcp.write = (chunk: Buffer, ...rest: never[]) => {
    written.push(Buffer.from(chunk));
    return write(chunk, ...rest);
  };
  try {
    socket.send(PROBE, { binary: false });
  } finally {
    tcp.write = write;
  }
  const expected = new PreparedFrame(PROBE).bytesFor(sender!.constructor);
  if (!Buffer.concat(written).equals(expected)) {
    problems.push('Sender.frame does not give the bytes socket.send writes');
  }
  return problems;
}

/**
 * Runs `fastPathProblems` on a real socket pair of `ws` on 127.0.0.1, and checks that a client
 * reads the fast path's bytes as the frame. Returns what is wrong; empty when all is well.
 */
export async function checkWsFastPath(ws: WsModule = socketsWs()): Promise<string[]> {
  const server: WebSocketServer = new ws.WebSocketServer({ host: '127.0.0.1', port: 0 });
  let client: WebSocket | undefined;
  const timeout = AbortSignal.timeout(CHECK_TIMEOUT_MS);
  try {
    await once(server, 'listening', { signal: timeout });
    const { port } = server.address() as { port: number };
    const accepted = once(server, 'connection', { signal: timeout });
    client = new ws.WebSocket(`ws://127.0.0.1:${port}`);
    const [socket] = (await accepted) as [WebSocket];
    await once(client, 'open', { signal: timeout });
    // The probe through socket.send first (inside fastPathProblems), then through the fast path.
    const texts: string[] = [];
    const bothRead = new Promise<void>((resolve) =>
      client!.on('message', (data: Buffer, isBinary: boolean) => {
        texts.push(isBinary ? 'binary' : data.toString('utf8'));
        if (texts.length === 2) {
          resolve();
        }
      }),
    );
    const problems = fastPathProblems(socket);
    if (problems.length > 0) {
      return problems;
    }
    const { _socket, _sender } = socket as unknown as Required<WebSocketInternals>;
    _socket.write(new PreparedFrame(PROBE).bytesFor(_sender.constructor));
    await Promise.race([bothRead, once(client, 'close', { signal: timeout })]);
    return texts.length === 2 && texts.every((text) => text === PROBE.toString())
      ? []
      : ['a client did not read the fast path frame as the one socket.send wrote'];
  } catch (error) {
    return [`the check failed: ${error instanceof Error ? error.message : String(error)}`];
  } finally {
    client?.terminate();
    await new Promise((resolve) => server.close(resolve));
  }
}

/**
 * At start-up: the fast path of `PreparedFrame` (framed bytes written straight to the TCP socket)
 * is turned on only when the `ws` that makes the sockets still has the private parts it uses. A
 * `ws` release that renamed them would otherwise stop live delivery or reorder frames; instead
 * every frame goes through `socket.send` (slower, same order), with a warning and
 * `switchboard_ws_fast_path_enabled 0`.
 */
@Injectable()
export class WsFastPath implements OnModuleInit {
  private readonly logger = new Logger(WsFastPath.name);

  constructor(private readonly metrics: RealtimeMetrics) {}

  async onModuleInit(): Promise<void> {
    const problems = await this.check();
    PreparedFrame.useFastPath(problems.length === 0);
    this.metrics.wsFastPathEnabled.set(problems.length === 0 ? 1 : 0);
    if (problems.length > 0) {
      this.logger.warn(
        `WebSocket fast path OFF, every frame goes through socket.send (slower fan-out): the installed ws does not have what it needs: ${problems.join('; ')}`,
      );
    }
  }

  protected check(): Promise<string[]> {
    return checkWsFastPath();
  }
}
