import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { serveRunner } from '@bench/support/worker-protocol';
import { Arrivals, countArrivals, keepAlive } from './arrival-counter';
import { closeSocket, connect, runBounded, WsTarget } from './ws-connections';

/**
 * Holds many open WebSocket connections for the runner: idle (memory per connection) or as the
 * audience of a fan-out, where it also sends the messages and times their arrival. Sender and
 * receivers live in this one process, so one clock times both ends.
 */
const receivers: WebSocket[] = [];
/** Receivers whose bytes are only counted now (see countArrivals): they are dropped, not closed. */
let counted = 0;
let stopKeepAlive: (() => void) | undefined;
let sender: WebSocket | undefined;
let current: Arrivals | undefined;

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
  /** CPU this process spent over the wall time, %: near 100 means the client was the limit. */
  clientCpuPercent: number;
}

/** Sends `messages` messages one after another, each once every receiver has it (or timed out). */
async function fanout(load: FanoutLoad): Promise<FanoutResult> {
  sender ??= await connect(load, true);
  for (; counted < receivers.length; counted++) {
    countArrivals(receivers[counted], () => current);
  }
  stopKeepAlive ??= keepAlive(() => receivers);
  const result: FanoutResult = {
    receivers: receivers.length,
    deliveriesPerSecond: [],
    lastReceiptMs: [],
    missing: 0,
    clientCpuPercent: 0,
  };
  const cpuBefore = process.cpuUsage();
  const startedAt = performance.now();
  for (let index = 0; index < load.messages; index++) {
    const id = `fanout-${randomBytes(6).toString('hex')}`;
    // Both servers serialize the body right after this key, with no space.
    current = { marker: Buffer.from(`"body":"${id}"`), received: 0, lastAt: 0 };
    const arrivals = current;
    const sentAt = performance.now();
    sender.send(
      JSON.stringify({ event: 'send', data: { roomId: load.roomId, body: id, clientMsgId: id } }),
    );
    const deadline = sentAt + load.timeoutMs;
    while (arrivals.received < receivers.length && performance.now() < deadline) {
      await sleep(1);
    }
    current = undefined;
    result.missing += receivers.length - Math.min(arrivals.received, receivers.length);
    if (arrivals.received > 0) {
      const elapsed = arrivals.lastAt - sentAt;
      result.lastReceiptMs.push(elapsed);
      result.deliveriesPerSecond.push((arrivals.received * 1000) / elapsed);
    }
    // Lets the server finish what trails a fan-out (acks, the sender's own copy) before the next.
    await sleep(100);
  }
  const cpu = process.cpuUsage(cpuBefore);
  result.clientCpuPercent = (cpu.user + cpu.system) / 10 / (performance.now() - startedAt);
  return result;
}

async function closeAll(): Promise<void> {
  stopKeepAlive?.();
  stopKeepAlive = undefined;
  const detached = receivers.splice(0, counted);
  counted = 0;
  // Their close frames would never be read: drop them.
  detached.forEach((socket) => socket.terminate());
  const rest = [...receivers.splice(0), ...(sender ? [sender] : [])];
  sender = undefined;
  await runBounded(rest.length, 200, Number.POSITIVE_INFINITY, (index) => closeSocket(rest[index]));
}

serveRunner({ open, fanout, closeAll });
