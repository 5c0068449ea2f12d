import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';

/** Where and how the load generator connects: the token goes in the Authorization header. */
export interface WsTarget {
  /** e.g. ws://127.0.0.1:43210/ws */
  url: string;
  token: string;
  /** Send `join {roomId}` after the upgrade and wait for `joined` (Switchboard); null: bare ws. */
  roomId: string | null;
}

const STEP_TIMEOUT_MS = 30_000;
/** A shed upgrade (503, the server's load shedding) is retried this often, this far apart. */
const SHED_RETRIES = 20;
const SHED_RETRY_DELAY_MS = 250;

class UpgradeRefused extends Error {
  constructor(readonly status: number) {
    super(`upgrade refused: ${status}`);
  }
}

/**
 * Opens one connection and, for Switchboard, joins the room; rejects on refusal or timeout.
 * `retryShed`: as a real client would, try again a little later when the upgrade is answered 503
 * (load shedding while thousands connect at once); the handshake scenario counts those instead.
 */
export async function connect(target: WsTarget, retryShed = false): Promise<WebSocket> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await connectOnce(target);
    } catch (error) {
      const shed = error instanceof UpgradeRefused && error.status === 503;
      if (!retryShed || !shed || attempt >= SHED_RETRIES) {
        throw error;
      }
      await sleep(SHED_RETRY_DELAY_MS);
    }
  }
}

async function connectOnce(target: WsTarget): Promise<WebSocket> {
  const socket = new WebSocket(target.url, {
    headers: { Authorization: `Bearer ${target.token}` },
    perMessageDeflate: false,
  });
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('unexpected-response', (_request, response) => {
        socket.terminate();
        reject(new UpgradeRefused(response.statusCode ?? 0));
      });
      socket.once('error', reject);
    }),
    'upgrade',
    socket,
  );
  if (target.roomId !== null) {
    const joined = waitForFrame(socket, '"joined"');
    socket.send(JSON.stringify({ event: 'join', data: { roomId: target.roomId } }));
    await withTimeout(joined, 'join', socket);
  }
  return socket;
}

/** Closes (close handshake) and resolves once the socket is closed. */
export function closeSocket(socket: WebSocket): Promise<void> {
  if (socket.readyState === WebSocket.CLOSED) {
    return Promise.resolve();
  }
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.close();
  return withTimeout(closed, 'close', socket);
}

/**
 * Runs `task` `count` times with at most `concurrency` at once, stopping early at `deadline`
 * (a performance.now() value); returns how many succeeded and failed, and the first failure.
 */
export async function runBounded(
  count: number,
  concurrency: number,
  deadline: number,
  task: (index: number) => Promise<void>,
): Promise<{ succeeded: number; failed: number; firstError?: string }> {
  let next = 0;
  let succeeded = 0;
  let failed = 0;
  let firstError: string | undefined;
  const lane = async () => {
    while (next < count && performance.now() < deadline) {
      const index = next++;
      try {
        await task(index);
        succeeded++;
      } catch (error) {
        failed++;
        firstError ??= (error as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return { succeeded, failed, firstError };
}

function waitForFrame(socket: WebSocket, marker: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (data: Buffer) => {
      const text = data.toString('utf8');
      if (text.includes(marker)) {
        socket.off('message', onMessage);
        resolve();
      } else if (text.includes('"error"')) {
        socket.off('message', onMessage);
        reject(new Error(`refused: ${text}`));
      }
    };
    socket.on('message', onMessage);
  });
}

async function withTimeout<T>(promise: Promise<T>, step: string, socket: WebSocket): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      socket.terminate();
      reject(new Error(`${step} took over ${STEP_TIMEOUT_MS} ms`));
    }, STEP_TIMEOUT_MS);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface HandshakeResult {
  completed: number;
  failed: number;
  firstError?: string;
  seconds: number;
}

/**
 * `handshake` `connections` times, `concurrency` at once, stopping after `seconds`: what each
 * handshake load generator (ws, Socket.IO) reports.
 */
export async function handshakeRounds(
  load: { connections: number; concurrency: number; seconds: number },
  handshake: () => Promise<void>,
): Promise<HandshakeResult> {
  const startedAt = performance.now();
  const outcome = await runBounded(
    load.connections,
    load.concurrency,
    startedAt + load.seconds * 1000,
    handshake,
  );
  return {
    completed: outcome.succeeded,
    failed: outcome.failed,
    firstError: outcome.firstError,
    seconds: (performance.now() - startedAt) / 1000,
  };
}
