import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { serveRunner } from '@bench/support/worker-protocol';
import { closeSocket, connect, runBounded, WsTarget } from './ws-connections';

/**
 * Holds many open WebSocket connections for the runner: idle (memory per connection) or as the
 * audience of a fan-out, where it also sends the messages and times their arrival. Sender and
 * receivers live in this one process, so one clock times both ends.
 */
const receivers: WebSocket[] = [];
let sender: WebSocket | undefined;

/** The message being fanned out now: its marker and how far its delivery got. */
let current: { marker: Buffer; received: number; lastAt: number; allIn: () => void } | undefined;

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
      const socket = await connect({ ...load, token: load.tokens[index % load.tokens.length] });
      socket.on('message', onMessage);
      receivers.push(socket);
    },
  );
  return { open: receivers.length, failed: outcome.failed, firstError: outcome.firstError };
}

function onMessage(data: Buffer): void {
  if (current && data.includes(current.marker)) {
    current.lastAt = performance.now();
    if (++current.received === receivers.length) {
      current.allIn();
    }
  }
}

interface FanoutLoad extends WsTarget {
  messages: number;
  /** A message whose deliveries are not all in by then counts its missing ones as errors. */
  timeoutMs: number;
}

export interface FanoutResult {
  receivers: number;
  /** Per message: receivers / (last receipt − send). */
  deliveriesPerSecond: number[];
  /** Per message: last receipt − send, ms. */
  lastReceiptMs: number[];
  missing: number;
}

/** Sends `messages` messages one after another, each once every receiver has it (or timed out). */
async function fanout(load: FanoutLoad): Promise<FanoutResult> {
  sender ??= await connect(load);
  const result: FanoutResult = {
    receivers: receivers.length,
    deliveriesPerSecond: [],
    lastReceiptMs: [],
    missing: 0,
  };
  for (let index = 0; index < load.messages; index++) {
    const id = `fanout-${randomBytes(6).toString('hex')}`;
    let allIn = () => {};
    const done = new Promise<void>((resolve) => (allIn = resolve));
    current = { marker: Buffer.from(id), received: 0, lastAt: 0, allIn };
    const sentAt = performance.now();
    sender.send(
      JSON.stringify({ event: 'send', data: { roomId: load.roomId, body: id, clientMsgId: id } }),
    );
    await Promise.race([done, sleep(load.timeoutMs)]);
    const { received, lastAt } = current;
    current = undefined;
    result.missing += receivers.length - received;
    if (received > 0) {
      result.lastReceiptMs.push(lastAt - sentAt);
      result.deliveriesPerSecond.push((received * 1000) / (lastAt - sentAt));
    }
    // Lets the server finish what trails a fan-out (acks, the sender's own copy) before the next.
    await sleep(100);
  }
  return result;
}

async function closeAll(): Promise<void> {
  const all = [...receivers.splice(0), ...(sender ? [sender] : [])];
  sender = undefined;
  await runBounded(all.length, 200, Number.POSITIVE_INFINITY, (index) => closeSocket(all[index]));
}

serveRunner({ open, fanout, closeAll });
