import type WebSocket from 'ws';
import { serveRunner } from '@bench/support/worker-protocol';
import { FanoutAudience, FanoutResult, FanoutRun } from './fanout-audience';
import { closeSocket, connect, runBounded, WsTarget } from './ws-connections';

/**
 * Holds many open WebSocket connections for the runner: idle (memory per connection) or as the
 * audience of a fan-out, where it also sends the messages and times their arrival.
 */
const receivers: WebSocket[] = [];
/** Unsolicited pongs: the server's heartbeat accepts any. */
const audience = new FanoutAudience(
  receivers,
  (socket) => socket,
  (socket) => socket.pong(),
);
let sender: WebSocket | undefined;

interface OpenLoad extends Omit<WsTarget, 'token'> {
  /** Connections are spread over these users in turn. */
  tokens: string[];
  /** Opens connections until this many are open. */
  total: number;
  concurrency: number;
  seconds: number;
}

async function open(
  load: OpenLoad,
): Promise<{ open: number; failed: number; firstError?: string }> {
  const missing = load.total - receivers.length;
  const outcome = await runBounded(
    missing,
    load.concurrency,
    performance.now() + load.seconds * 1000,
    async (index) => {
      const token = load.tokens[index % load.tokens.length];
      receivers.push(await connect({ ...load, token }, true));
    },
  );
  return { open: receivers.length, failed: outcome.failed, firstError: outcome.firstError };
}

/** Sends `messages` messages from a member of the room, timing their arrival at the receivers. */
async function fanout(load: WsTarget & FanoutRun): Promise<FanoutResult> {
  const from = (sender ??= await connect(load, true));
  return audience.run(load, (body) =>
    from.send(
      JSON.stringify({ event: 'send', data: { roomId: load.roomId, body, clientMsgId: body } }),
    ),
  );
}

async function closeAll(): Promise<void> {
  audience.dropCounted();
  const rest = [...receivers.splice(0), ...(sender ? [sender] : [])];
  sender = undefined;
  await runBounded(rest.length, 200, Number.POSITIVE_INFINITY, (index) => closeSocket(rest[index]));
}

serveRunner({ open, fanout, closeAll });
