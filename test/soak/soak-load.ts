import { Agent, request } from 'node:http';
import WebSocket from 'ws';
import { serveRunner } from '@bench/support/worker-protocol';
import { LatencyHistogram } from '@test/scale/latency-histogram';
import type { LoadRates } from './soak-options';

/**
 * The soak's load generator, a process of its own (run by BenchWorker): a steady mix of HTTP reads
 * and posts, WebSocket posts, joins and leaves on long-lived connections, and connections opened
 * and closed all the time. It measures what it sends (HTTP answer and WebSocket ack latency,
 * errors) in windows the runner collects with each sample.
 */

/** Sends are paced on this tick; a late tick sends what fell due meanwhile, up to a bound. */
const TICK_MS = 10;
const MAX_PER_TICK = 20;
/** An answer later than this counts as an error (and its latency as this). */
const ANSWER_TIMEOUT_MS = 10_000;
const CONNECT_TIMEOUT_MS = 10_000;
/** Long-lived connections per instance. */
const LISTENERS = 10;
const ROOMS_PER_LISTENER = 3;
const WS_POSTERS = 6;
/** Enough that a join or leave always finds one free, even across a stall of a few seconds. */
const JOIN_LEAVERS = 12;
/** A churned connection lives this long (uniformly between). */
const CHURN_LIFE_MS: [number, number] = [1000, 4000];
const HTTP_SOCKETS_PER_INSTANCE = 8;
const STOP_WAIT_MS = 15_000;

export interface LoadStart {
  urls: string[];
  roomIds: string[];
  tokens: string[];
  userIds: string[];
  rates: LoadRates;
}

type Operation = keyof LoadRates;

/** One window of the load (or the whole run): what was done, how fast, what went wrong. */
export interface LoadWindow {
  /** Operations completed, by kind. */
  done: Partial<Record<Operation, number>>;
  /** Not sent: every connection for it was still waiting for an answer. */
  skipped: Partial<Record<Operation, number>>;
  /** HTTP answer latency, [ms, count] pairs (see LatencyHistogram). */
  http: [number, number][];
  /** WebSocket `send`, `join` and `leave` answer latency. */
  wsAck: [number, number][];
  /** X-Cache of the cached reads. */
  cache: { hits: number; misses: number };
  errors: Record<string, number>;
  firstErrors: string[];
  /** Connections this process holds now. */
  openSockets: number;
}

interface Pending {
  sentAt: number;
  kind: Operation;
  settle: (frame: Frame) => void;
}

interface Frame {
  event: string;
  ref?: string;
  data?: { code?: string; message?: string };
}

/** A WebSocket the load keeps open, with its outstanding refs. */
class LoadSocket {
  readonly pending = new Map<string, Pending>();
  private nextRef = 0;
  /** Set once this side decided to close: any later close is expected. */
  closing = false;
  /** Failures before the upgrade completed are the opener's to report. */
  private opened = false;
  readonly closed: Promise<void>;

  private constructor(
    readonly socket: WebSocket,
    private readonly load: Load,
  ) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('message', (data: Buffer) => this.onFrame(data));
    socket.once('open', () => (this.opened = true));
    socket.on('close', (code) => {
      if (this.opened && !this.closing && !load.stopping) {
        load.error(`unexpected close ${code}`);
      }
      for (const pending of this.pending.values()) {
        pending.settle({ event: 'closed' });
      }
      this.pending.clear();
      load.sockets.delete(this);
    });
    socket.on('error', (error) => {
      if (this.opened && !this.closing && !load.stopping) {
        load.error(`socket error: ${error.message}`);
      }
    });
    load.sockets.add(this);
  }

  static open(load: Load, url: string, token: string): Promise<LoadSocket> {
    const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/ws`, {
      headers: { Authorization: `Bearer ${token}` },
      perMessageDeflate: false,
      handshakeTimeout: CONNECT_TIMEOUT_MS,
    });
    const held = new LoadSocket(socket, load);
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(held));
      socket.once('unexpected-response', (_request, response) => {
        held.closing = true;
        socket.terminate();
        reject(new Error(`upgrade answered ${response.statusCode}`));
      });
      socket.once('error', (error) => {
        held.closing = true;
        reject(error);
      });
    });
  }

  get busy(): boolean {
    return this.pending.size > 0;
  }

  /** Sends one frame; resolves with its answer (`error`/`closed` frames too). */
  call(kind: Operation, event: string, data: object): Promise<Frame> {
    const ref = `r${this.nextRef++}`;
    return new Promise((resolve) => {
      this.pending.set(ref, { sentAt: performance.now(), kind, settle: resolve });
      this.socket.send(JSON.stringify({ event, data, ref }));
    });
  }

  /** Frames past their time are answered as timed out. */
  expire(now: number): void {
    for (const [ref, pending] of this.pending) {
      if (now - pending.sentAt > ANSWER_TIMEOUT_MS) {
        this.pending.delete(ref);
        pending.settle({ event: 'timeout' });
      }
    }
  }

  close(drop: boolean): void {
    this.closing = true;
    if (drop) {
      this.socket.terminate();
    } else {
      this.socket.close(1000);
    }
  }

  private onFrame(data: Buffer): void {
    const frame = JSON.parse(data.toString('utf8')) as Frame;
    const pending = frame.ref === undefined ? undefined : this.pending.get(frame.ref);
    if (pending && frame.ref !== undefined) {
      this.pending.delete(frame.ref);
      this.load.wsAck(performance.now() - pending.sentAt);
      pending.settle(frame);
    } else if (frame.event === 'error') {
      this.load.error(`ws error frame ${frame.data?.code}: ${frame.data?.message}`);
    }
  }
}

class Load {
  readonly sockets = new Set<LoadSocket>();
  stopping = false;
  private readonly agents: Agent[];
  private listeners: LoadSocket[][] = [];
  private posters: LoadSocket[][] = [];
  private joinLeavers: { socket: LoadSocket; joined?: string }[][] = [];
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private readonly due: Record<Operation, number>;
  private sequence = 0;
  private ticks = 0;
  private inFlight = new Set<Promise<unknown>>();
  private window = emptyTally();
  private total = emptyTally();

  constructor(private readonly plan: LoadStart) {
    this.agents = plan.urls.map(
      () => new Agent({ keepAlive: true, maxSockets: HTTP_SOCKETS_PER_INSTANCE }),
    );
    this.due = Object.fromEntries(Object.keys(plan.rates).map((kind) => [kind, 0])) as Record<
      Operation,
      number
    >;
  }

  async start(): Promise<void> {
    const { urls, roomIds } = this.plan;
    let user = 0;
    const nextToken = () => this.plan.tokens[user++ % this.plan.tokens.length];
    for (const url of urls) {
      const listeners = await Promise.all(
        Array.from({ length: LISTENERS }, () => LoadSocket.open(this, url, nextToken())),
      );
      // Each listener joins a few rooms and stays: the posts reach it live.
      await Promise.all(
        listeners.map((socket, index) =>
          Promise.all(
            Array.from({ length: ROOMS_PER_LISTENER }, (_, k) =>
              socket.call('joinsLeaves', 'join', {
                roomId: roomIds[(index * ROOMS_PER_LISTENER + k) % roomIds.length],
              }),
            ),
          ),
        ),
      );
      this.listeners.push(listeners);
      this.posters.push(
        await Promise.all(
          Array.from({ length: WS_POSTERS }, () => LoadSocket.open(this, url, nextToken())),
        ),
      );
      this.joinLeavers.push(
        (
          await Promise.all(
            Array.from({ length: JOIN_LEAVERS }, () => LoadSocket.open(this, url, nextToken())),
          )
        ).map((socket) => ({ socket })),
      );
    }
    // The set-up's joins are not the load's.
    this.window = emptyTally();
    this.total = emptyTally();
    this.startedAt = performance.now();
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  /** The window since the last call, and a new one begun. */
  takeWindow(): LoadWindow {
    const window = this.report(this.window);
    this.window = emptyTally();
    return window;
  }

  /** Stops sending, waits (bounded) for what is in flight, closes every connection. */
  async stop(): Promise<LoadWindow> {
    clearInterval(this.timer);
    this.timer = undefined;
    const deadline = Date.now() + STOP_WAIT_MS;
    while (this.inFlight.size > 0 && Date.now() < deadline) {
      await Promise.race([Promise.all(this.inFlight), sleep(500)]);
      this.expireAll();
    }
    if (this.inFlight.size > 0) {
      this.error(`${this.inFlight.size} operations unanswered at the stop`);
    }
    this.stopping = true;
    const sockets = [...this.sockets];
    sockets.forEach((socket) => socket.close(false));
    await Promise.race([Promise.all(sockets.map((socket) => socket.closed)), sleep(5000)]);
    // What did not finish its closing handshake is cut.
    [...this.sockets].forEach((socket) => socket.close(true));
    this.agents.forEach((agent) => agent.destroy());
    const last = this.report(this.window);
    this.window = emptyTally();
    return { ...this.report(this.total), openSockets: last.openSockets };
  }

  error(what: string): void {
    // Ids apart, one kind of error is one key.
    const key = what.replace(/[0-9a-f-]{36}/g, '<id>');
    for (const tally of [this.window, this.total]) {
      tally.errors[key] = (tally.errors[key] ?? 0) + 1;
      if (tally.firstErrors.length < 5) {
        tally.firstErrors.push(what);
      }
    }
  }

  wsAck(ms: number): void {
    this.window.wsAck.add(ms);
    this.total.wsAck.add(ms);
  }

  private skip(kind: Operation): void {
    this.window.skipped[kind] = (this.window.skipped[kind] ?? 0) + 1;
    this.total.skipped[kind] = (this.total.skipped[kind] ?? 0) + 1;
  }

  private done(kind: Operation): void {
    this.window.done[kind] = (this.window.done[kind] ?? 0) + 1;
    this.total.done[kind] = (this.total.done[kind] ?? 0) + 1;
  }

  private report(tally: Tally): LoadWindow {
    return {
      done: { ...tally.done },
      skipped: { ...tally.skipped },
      http: tally.http.toPairs(),
      wsAck: tally.wsAck.toPairs(),
      cache: { ...tally.cache },
      errors: { ...tally.errors },
      firstErrors: [...tally.firstErrors],
      openSockets: this.sockets.size,
    };
  }

  private tick(): void {
    const elapsed = (performance.now() - this.startedAt) / 1000;
    for (const [kind, rate] of Object.entries(this.plan.rates) as [Operation, number][]) {
      const owed = Math.floor(elapsed * rate);
      const count = Math.min(MAX_PER_TICK, owed - this.due[kind]);
      for (let sent = 0; sent < count; sent++) {
        this.track(this.run(kind, this.sequence++));
      }
      // What a stall skipped past the bound is skipped: the rate is an upper bound, never a burst.
      this.due[kind] = Math.max(this.due[kind] + Math.max(0, count), owed - MAX_PER_TICK);
    }
    if (++this.ticks % 100 === 0) {
      this.expireAll();
    }
  }

  private expireAll(): void {
    const now = performance.now();
    this.sockets.forEach((socket) => socket.expire(now));
  }

  private track(operation: Promise<unknown>): void {
    const tracked = operation.catch((error: Error) => this.error(error.message));
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
  }

  private async run(kind: Operation, n: number): Promise<void> {
    const { urls, roomIds, tokens, userIds } = this.plan;
    const instance = n % urls.length;
    const room = roomIds[Math.floor(n / urls.length) % roomIds.length];
    const user = (n * 7) % tokens.length;
    switch (kind) {
      case 'cachedReads': {
        // A room's members (cleared only by membership changes) and a user: mostly hits.
        const path =
          n % 2 === 0 ? `/api/rooms/${room}/members` : `/api/users/${userIds[(n >> 1) % 20]}`;
        const answer = await this.http(instance, 'GET', path, tokens[user]);
        this.window.cache[answer.cache === 'HIT' ? 'hits' : 'misses']++;
        this.total.cache[answer.cache === 'HIT' ? 'hits' : 'misses']++;
        break;
      }
      case 'uncachedReads':
        await this.http(
          instance,
          'GET',
          n % 2 === 0 ? '/api/users/me' : '/api/rooms',
          tokens[user],
        );
        break;
      case 'restPosts':
        await this.http(instance, 'POST', `/api/rooms/${room}/messages`, tokens[user], {
          body: `soak rest ${n}`,
        });
        break;
      case 'wsPosts': {
        const posters = this.posters[instance];
        const socket = posters[Math.floor(n / urls.length) % posters.length];
        await this.expect(socket.call(kind, 'send', { roomId: room, body: `soak ws ${n}` }), 'ack');
        break;
      }
      case 'joinsLeaves': {
        const free = this.joinLeavers[instance].find((held) => !held.socket.busy);
        if (!free) {
          // Not the server's failure: this generator's connections are all waiting (a stall).
          this.skip(kind);
          return;
        }
        if (free.joined) {
          const roomId = free.joined;
          free.joined = undefined;
          await this.expect(free.socket.call(kind, 'leave', { roomId }), 'left');
        } else {
          free.joined = room;
          await this.expect(free.socket.call(kind, 'join', { roomId: room }), 'joined');
        }
        break;
      }
      case 'reconnects':
        await this.churn(urls[instance], tokens[user], room, n);
        return;
    }
    this.done(kind);
  }

  /** One connection: open, join a room, type, live a while, close cleanly or drop. */
  private async churn(url: string, token: string, roomId: string, n: number): Promise<void> {
    const socket = await LoadSocket.open(this, url, token);
    try {
      await this.expect(socket.call('reconnects', 'join', { roomId }), 'joined');
      socket.socket.send(JSON.stringify({ event: 'typing', data: { roomId } }));
      const [shortest, longest] = CHURN_LIFE_MS;
      await sleep(shortest + ((n * 997) % (longest - shortest)));
      this.done('reconnects');
    } finally {
      // Half say goodbye, half vanish (the server sees the TCP connection end).
      socket.close(n % 2 === 1);
    }
  }

  private async expect(answer: Promise<Frame>, event: string): Promise<void> {
    const frame = await answer;
    if (frame.event !== event) {
      throw new Error(
        `expected ${event}, got ${frame.event}${frame.data?.code ? ` ${frame.data.code}` : ''}`,
      );
    }
  }

  private http(
    instance: number,
    method: 'GET' | 'POST',
    path: string,
    token: string,
    body?: object,
  ): Promise<{ cache?: string }> {
    const url = new URL(path, this.plan.urls[instance]);
    const payload = body ? JSON.stringify(body) : undefined;
    const sentAt = performance.now();
    return new Promise((resolve, reject) => {
      const outgoing = request(
        url,
        {
          method,
          agent: this.agents[instance],
          timeout: ANSWER_TIMEOUT_MS,
          headers: {
            Authorization: `Bearer ${token}`,
            ...(payload
              ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) }
              : {}),
          },
        },
        (response) => {
          response.resume();
          response.once('end', () => {
            const ms = performance.now() - sentAt;
            this.window.http.add(ms);
            this.total.http.add(ms);
            const status = response.statusCode ?? 0;
            if (status >= 200 && status < 300) {
              resolve({ cache: response.headers['x-cache'] as string | undefined });
            } else {
              reject(new Error(`${method} ${path.split('/').slice(0, 3).join('/')}… ${status}`));
            }
          });
        },
      );
      outgoing.once('timeout', () => outgoing.destroy(new Error(`${method} timed out`)));
      outgoing.once('error', reject);
      outgoing.end(payload);
    });
  }
}

interface Tally {
  done: Partial<Record<Operation, number>>;
  skipped: Partial<Record<Operation, number>>;
  http: LatencyHistogram;
  wsAck: LatencyHistogram;
  cache: { hits: number; misses: number };
  errors: Record<string, number>;
  firstErrors: string[];
}

function emptyTally(): Tally {
  return {
    done: {},
    skipped: {},
    http: new LatencyHistogram(),
    wsAck: new LatencyHistogram(),
    cache: { hits: 0, misses: 0 },
    errors: {},
    firstErrors: [],
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

let load: Load | undefined;

serveRunner({
  start: async (plan: LoadStart) => {
    load = new Load(plan);
    await load.start();
    return true;
  },
  window: () => load?.takeWindow(),
  stop: () => load?.stop(),
});
