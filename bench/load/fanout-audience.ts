import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { Arrivals, countArrivals } from './arrival-counter';

/** How often detached receivers say they are alive, well inside either server's ping timeout. */
const KEEPALIVE_MS = 10_000;

/** What the runner's `fanout` request asks besides how the sender connects. */
export interface FanoutRun {
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
  /** Receivers closed by the end (dropped by the server): they account for some of `missing`. */
  closed: number;
  /** CPU this process spent over the wall time, %: near 100 means the client was the limit. */
  clientCpuPercent: number;
}

/**
 * The connections a holder process opened, as the audience of a fan-out: a bare `ws` client or
 * a Socket.IO client, each over a `ws` WebSocket (`webSocketOf`). From their first fan-out on,
 * their bytes are only counted (countArrivals), so their client no longer answers the server's
 * heartbeat: `beat` stands in for it every KEEPALIVE_MS, and they can only be dropped, not
 * closed. Sender and receivers live in one process, so one clock times both ends.
 */
export class FanoutAudience<Receiver> {
  private current: Arrivals | undefined;
  /** The first `counted` receivers are counted, no longer parsed. */
  private counted = 0;
  private keepAlive: NodeJS.Timeout | undefined;

  constructor(
    private readonly receivers: Receiver[],
    private readonly webSocketOf: (receiver: Receiver) => WebSocket,
    private readonly beat: (receiver: Receiver) => void,
  ) {}

  /**
   * Sends `messages` messages with `send`, one after another, each once every receiver has it
   * (or timed out).
   */
  async run(load: FanoutRun, send: (body: string) => void): Promise<FanoutResult> {
    for (; this.counted < this.receivers.length; this.counted++) {
      countArrivals(this.webSocketOf(this.receivers[this.counted]), () => this.current);
    }
    this.keepAlive ??= setInterval(() => this.beatAll(), KEEPALIVE_MS);
    const total = this.receivers.length;
    const result: FanoutResult = {
      receivers: total,
      deliveriesPerSecond: [],
      lastReceiptMs: [],
      missing: 0,
      closed: 0,
      clientCpuPercent: 0,
    };
    const cpuBefore = process.cpuUsage();
    const startedAt = performance.now();
    for (let index = 0; index < load.messages; index++) {
      const body = `fanout-${randomBytes(6).toString('hex')}`;
      // Every server of the bench serializes the body right after this key, with no space.
      const arrivals: Arrivals = {
        marker: Buffer.from(`"body":"${body}"`),
        received: 0,
        lastAt: 0,
      };
      this.current = arrivals;
      const sentAt = performance.now();
      send(body);
      const deadline = sentAt + load.timeoutMs;
      while (arrivals.received < total && performance.now() < deadline) {
        await sleep(1);
      }
      this.current = undefined;
      result.missing += total - Math.min(arrivals.received, total);
      if (arrivals.received > 0) {
        const elapsed = arrivals.lastAt - sentAt;
        result.lastReceiptMs.push(elapsed);
        result.deliveriesPerSecond.push((arrivals.received * 1000) / elapsed);
      }
      // Lets the server finish what trails a fan-out (acks, the sender's own copy) before the next.
      await sleep(100);
    }
    result.closed = this.receivers.filter(
      (receiver) => this.webSocketOf(receiver).readyState !== WebSocket.OPEN,
    ).length;
    const cpu = process.cpuUsage(cpuBefore);
    result.clientCpuPercent = (cpu.user + cpu.system) / 10 / (performance.now() - startedAt);
    return result;
  }

  /** Drops the counted receivers (their close frames would never be read) and forgets them. */
  dropCounted(): void {
    clearInterval(this.keepAlive);
    this.keepAlive = undefined;
    this.receivers
      .splice(0, this.counted)
      .forEach((receiver) => this.webSocketOf(receiver).terminate());
    this.counted = 0;
  }

  private beatAll(): void {
    for (const receiver of this.receivers) {
      if (this.webSocketOf(receiver).readyState === WebSocket.OPEN) {
        this.beat(receiver);
      }
    }
  }
}
