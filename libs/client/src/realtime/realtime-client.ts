import {
  ClientEvent,
  ClientEventMap,
  CloseCode,
  ENTRY_EVENT,
  MAX_REF_LENGTH,
  RealtimeErrorCode,
  RealtimeMessage,
  ServerEvent,
  ServerEventMap,
  ServerFrame,
} from '@libs/protocol';
import {
  parseRetryAfter,
  ReconnectOptions,
  reconnectDelay,
  retryAfterDelay,
} from './reconnect-backoff';
import { RoomSequencer } from './room-sequencer';
import { TypingTracker } from './typing-tracker';

export type { ReconnectOptions } from './reconnect-backoff';

/** The subset of the WebSocket API used here: the browser's global and the `ws` package both fit. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(
    type: 'close',
    listener: (event: { code: number; reason: string }) => void,
  ): void;
  addEventListener(type: 'error', listener: (event: unknown) => void): void;
  /**
   * Node's `ws` only: the HTTP answer of a refused upgrade, which tells its status and Retry-After
   * (a browser's WebSocket tells neither).
   */
  on?(
    event: 'unexpected-response',
    listener: (request: unknown, response: UpgradeResponse) => void,
  ): unknown;
}

/** The parts of a refused upgrade's HTTP answer the client reads. */
export interface UpgradeResponse {
  statusCode?: number;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * The browser's constructor takes (url); Node's (the `ws` package, undici's WebSocket) also take
 * options with headers as the second argument.
 */
export type WebSocketConstructor = new (
  url: string,
  options?: { headers: Record<string, string> },
) => WebSocketLike;

/**
 * An access token, or a function that gives a fresh one: it is called for every connection (the
 * first and each reconnection) and after the server closed with 4401 (token expired). Returning
 * undefined (or the token that just expired) means there is none: the client then stops.
 */
export type AccessTokenSource = string | (() => string | undefined | Promise<string | undefined>);

export interface RealtimeClientOptions {
  /** The server's base URL, `http(s)://…` or `ws(s)://…`. */
  baseUrl: string;
  accessToken: AccessTokenSource;
  /** In Node 20: `WebSocket` from the `ws` package. Defaults to the global one (browsers). */
  WebSocket?: WebSocketConstructor;
  /** How long a request (`join`, `send`, …) waits for its answer on an open connection. */
  timeoutMs?: number;
  /** Reconnect after a lost connection (the default), or `false`: the first close is final. */
  reconnect?: ReconnectOptions | false;
  /** `send`/`dm` calls kept until acknowledged, across reconnects; past it, `send` rejects. */
  maxQueuedSends?: number;
  /**
   * How long a gap in `seq` may stay open before `sync` fills it: messages stored on another
   * instance come a little later than local ones, so a gap usually closes by itself.
   */
  gapWaitMs?: number;
}

/** Events about the connection itself, beside the server's events. */
export interface ConnectionEventMap {
  /** The connection was lost; attempt `attempt` starts after `delayMs`. */
  reconnecting: { attempt: number; delayMs: number; code: number; reason: string };
  /** Connected again, rooms rejoined and caught up, queued sends on their way. */
  reconnected: { attempt: number };
}

/** Events the client derives from the server's. */
export interface TypingEventMap {
  /**
   * Someone the client saw `typing` stopped: TYPING_EXPIRES_MS passed without another `typing`
   * from them in the room, or their `message` arrived.
   */
  typingStopped: { roomId: string; userId: string };
}

export type RealtimeClientEventMap = ServerEventMap & ConnectionEventMap & TypingEventMap;
export type RealtimeClientEvent = keyof RealtimeClientEventMap;

/** The server refused a frame: `error {code, message}`. */
export class RealtimeRequestError extends Error {
  constructor(
    readonly code: RealtimeErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RealtimeRequestError';
  }
}

/** The server answered the upgrade with an HTTP status instead of a WebSocket. */
export class UpgradeRefusedError extends Error {
  constructor(
    readonly status: number,
    /** From Retry-After: the server is busy and asks to try again after this many seconds. */
    readonly retryAfterSeconds: number | undefined,
  ) {
    super(`WebSocket connection refused or failed: HTTP ${status}`);
    this.name = 'UpgradeRefusedError';
  }
}

/**
 * Seconds to wait when `error` says "later" (503 with Retry-After: a storm being let in at the
 * server's pace); undefined for every other failure.
 */
function busyFor(error: unknown): number | undefined {
  return error instanceof UpgradeRefusedError && error.status === 503
    ? error.retryAfterSeconds
    : undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `send`/`dm` while `maxQueuedSends` sends still wait for their acknowledgement. */
export class SendQueueFullError extends Error {
  constructor(limit: number) {
    super(`${limit} sends are waiting for an acknowledgement: try again once some are answered`);
    this.name = 'SendQueueFullError';
  }
}

type Listener<E extends RealtimeClientEvent> = (data: RealtimeClientEventMap[E]) => void;

interface Pending {
  answer: ServerEvent;
  resolve: (data: unknown) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** Frames answered with `ack`: kept until acknowledged and sent again, unchanged, after a reconnect. */
type AckedEvent = 'send' | 'dm' | 'edit' | 'delete';

/** A frame answered with `ack`, kept until acknowledged; sent again, unchanged, after a reconnect. */
interface QueuedSend {
  event: AckedEvent;
  data: ClientEventMap[AckedEvent];
  resolve: (ack: ServerEventMap['ack']) => void;
  reject: (error: Error) => void;
  ref?: string;
  timer?: ReturnType<typeof setTimeout>;
}

interface RoomState {
  /** Joined by the application (rejoined after a reconnect); else a direct room seen live. */
  joined: boolean;
  sequencer: RoomSequencer;
  syncing?: Promise<void>;
  syncAgain: boolean;
  gapTimer?: ReturnType<typeof setTimeout>;
  /** `join` calls made while disconnected: answered once the room is joined again. */
  joinWaiters: { resolve: (data: ServerEventMap['joined']) => void; reject: (e: Error) => void }[];
}

const OPEN = 1;
const SYNC_PAGE = 200;
/** Rounds of `sync` in a row for one room before it waits for the next gap to show. */
const MAX_SYNC_ROUNDS = 10;
const DEFAULT_MAX_QUEUED_SENDS = 1000;
const DEFAULT_GAP_WAIT_MS = 250;

function isNode(): boolean {
  const process = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof process?.versions?.node === 'string';
}

function newClientMessageId(): string {
  const crypto = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  return (
    crypto?.randomUUID?.() ??
    `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`
  );
}

/**
 * A typed client of the `/ws` protocol that resumes. Requests (`join`, `send`, `dm`, `sync`,
 * `auth`, `ping`) return their answer, matched by `ref`; pushed events reach `on()`.
 *
 * - `message`, `edited` and `deleted` events (the entries of a room's sequence) come exactly once
 *   per room and in `seq` order, live or from `sync` alike: duplicates are dropped, and a gap in
 *   `seq` is filled with `sync` before later entries are handed on.
 * - A lost connection is reopened with jittered exponential backoff (a fresh token from the
 *   `accessToken` function each time); joined rooms are joined again and `sync`ed from the last
 *   `seq` delivered, paging through `hasMore`. `reconnecting` / `reconnected` tell the app.
 * - An upgrade refused with 503 and Retry-After (the server lets a storm in at its pace) is not a
 *   failure: the client waits that long with jitter and tries again, also in `connect()`; it
 *   counts against neither `maxAttempts` nor the backoff.
 * - `send`/`dm`/`edit`/`delete` are kept until acknowledged (up to `maxQueuedSends`) and sent
 *   again with the same `clientMsgId` (one is generated when the app gives none), so a retry never
 *   stores twice (a second delete stores nothing).
 * - `typing(roomId)` goes out at most once per room every TYPING_RELAY_INTERVAL_MS; each `typing`
 *   received is followed by `typingStopped` after TYPING_EXPIRES_MS without another, or at once
 *   when that user's `message` arrives (no timer outlives `close()`).
 * - 1008 (abuse), 4401 with no fresh token, `close()` and `maxAttempts` stop it for good:
 *   `closed` then resolves.
 *
 * ```ts
 * const socket = await RealtimeClient.connect({ baseUrl, accessToken: () => tokens.fresh(), WebSocket });
 * socket.on('message', (message) => console.log(message.seq, message.body));
 * await socket.join(roomId);
 * const ack = await socket.send(roomId, 'hello');
 * ```
 */
export class RealtimeClient {
  private readonly listeners = new Map<RealtimeClientEvent, Set<Listener<never>>>();
  private readonly pending = new Map<string, Pending>();
  private readonly queued: QueuedSend[] = [];
  private readonly queuedByRef = new Map<string, QueuedSend>();
  private readonly rooms = new Map<string, RoomState>();
  private readonly typingTracker = new TypingTracker({
    stopped: (roomId, userId) => this.emit('typingStopped', { roomId, userId }),
  });
  private socket: WebSocketLike | undefined;
  /** Sends and gap-filling `sync`s wait until a new connection has rejoined and caught up. */
  private resumed = false;
  private reconnecting = false;
  private stopped = false;
  private finished = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private wakeReconnect: (() => void) | undefined;
  private lastToken: string | undefined;
  private nextRef = 0;
  private resolveClosed!: (event: { code: number; reason: string }) => void;
  /** Settles once the client has stopped for good (see the class comment). */
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(private readonly options: RealtimeClientOptions) {
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  /**
   * Opens a connection; rejects with `UpgradeRefusedError` when the server refuses the upgrade
   * (401, 403, 429, a 503 without Retry-After, or any 503 with `reconnect: false`).
   */
  static async connect(options: RealtimeClientOptions): Promise<RealtimeClient> {
    const client = new RealtimeClient(options);
    for (;;) {
      try {
        client.socket = await client.openSocket(await client.token());
        client.resumed = true;
        return client;
      } catch (error) {
        const retryAfterSeconds = options.reconnect === false ? undefined : busyFor(error);
        if (retryAfterSeconds === undefined) {
          throw error;
        }
        await sleep(retryAfterDelay(retryAfterSeconds));
      }
    }
  }

  on<E extends RealtimeClientEvent>(event: E, listener: Listener<E>): () => void {
    const listeners = this.listeners.get(event) ?? new Set();
    listeners.add(listener);
    this.listeners.set(event, listeners);
    return () => listeners.delete(listener);
  }

  /** Whether a connection is open and caught up (false while reconnecting). */
  get connected(): boolean {
    return this.resumed && this.socket?.readyState === OPEN;
  }

  /**
   * Live messages of the room from its current `lastSeq` on, also across reconnects. Called while
   * disconnected, it answers once the connection is back and the room joined.
   */
  async join(roomId: string): Promise<ServerEventMap['joined']> {
    if (this.finished) {
      throw new Error('The client is closed');
    }
    const known = this.rooms.get(roomId);
    const room = known ?? this.newRoom();
    room.joined = true;
    this.rooms.set(roomId, room);
    if (!this.connected) {
      return new Promise((resolve, reject) => room.joinWaiters.push({ resolve, reject }));
    }
    try {
      const joined = await this.request('join', { roomId }, 'joined');
      room.sequencer.startAt(joined.lastSeq);
      return joined;
    } catch (error) {
      if (error instanceof RealtimeRequestError) {
        if (!known) {
          this.rooms.delete(roomId);
        }
        throw error;
      }
      if (this.finished || this.rooms.get(roomId) !== room) {
        throw error;
      }
      // The connection went while joining: the room is joined again once it is back.
      return new Promise((resolve, reject) => room.joinWaiters.push({ resolve, reject }));
    }
  }

  /** No more live messages of the room here (the membership stays; REST leaves it). */
  leave(roomId: string): Promise<ServerEventMap['left']> {
    this.dropRoom(roomId, new Error(`Left room ${roomId}`));
    if (!this.connected) {
      return Promise.resolve({ roomId });
    }
    return this.request('leave', { roomId }, 'left');
  }

  /** Resolves with the `ack` once the message is committed, also when that takes a reconnect. */
  send(
    roomId: string,
    body: string,
    clientMsgId: string = newClientMessageId(),
  ): Promise<ServerEventMap['ack']> {
    return this.enqueue('send', { roomId, body, clientMsgId });
  }

  dm(
    userId: string,
    body: string,
    clientMsgId: string = newClientMessageId(),
  ): Promise<ServerEventMap['ack']> {
    return this.enqueue('dm', { userId, body, clientMsgId });
  }

  /**
   * Edits one of the caller's messages: resolves with the `ack` of the `edit` entry, also when
   * that takes a reconnect (a retry with the same `clientMsgId` stores one edit).
   */
  edit(
    roomId: string,
    messageId: string,
    body: string,
    clientMsgId: string = newClientMessageId(),
  ): Promise<ServerEventMap['ack']> {
    return this.enqueue('edit', { roomId, messageId, body, clientMsgId });
  }

  /**
   * Deletes a message (the caller's, or any in a room the caller owns): resolves with the `ack`
   * of the `delete` entry, also when that takes a reconnect (deleting again stores nothing).
   */
  delete(roomId: string, messageId: string): Promise<ServerEventMap['ack']> {
    return this.enqueue('delete', { roomId, messageId });
  }

  /** One page of a room's history after `afterSeq`, as the server answers it. */
  sync(roomId: string, afterSeq: number, limit?: number): Promise<ServerEventMap['history']> {
    return this.request(
      'sync',
      limit ? { roomId, afterSeq, limit } : { roomId, afterSeq },
      'history',
    );
  }

  /**
   * Fetches what live delivery may have missed in every room followed here, the newest messages
   * included (a lost last message leaves no gap to notice), and hands it on in order.
   */
  async catchUp(): Promise<void> {
    await Promise.all([...this.rooms.keys()].map((roomId) => this.catchUpRoom(roomId)));
  }

  /** Renews the connection's access token before it expires (else the server closes with 4401). */
  async authenticate(accessToken: string): Promise<ServerEventMap['authed']> {
    const authed = await this.request('auth', { token: accessToken }, 'authed');
    this.lastToken = accessToken;
    return authed;
  }

  /**
   * Tells the room's other members that the user is typing: they get `typing`, then
   * `typingStopped` once it expires. Call it on every keystroke: at most one per room every
   * TYPING_RELAY_INTERVAL_MS goes out. There is no answer; false when nothing was sent (too soon,
   * or not connected). A room not joined here is refused with an `error` event (`not_member`).
   */
  typing(roomId: string): boolean {
    if (!this.connected || !this.typingTracker.takeTurn(roomId)) {
      return false;
    }
    this.notify('typing', { roomId });
    return true;
  }

  ping(): Promise<ServerEventMap['pong']> {
    return this.request('ping', {}, 'pong');
  }

  /**
   * Marks the room read up to `seq` (the room's members hear `read`). Not answered; refused
   * with an `error` event when this user is no member. Marks made while the connection is down
   * are dropped: positions only move forward, so the next mark covers them.
   */
  markRead(roomId: string, seq: number): void {
    this.notify('read', { roomId, seq });
  }

  /** Closes for good: no reconnect; unacknowledged sends are rejected. */
  close(): void {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    this.wakeReconnect?.();
    if (this.socket && this.socket.readyState <= OPEN) {
      this.socket.close(1000, 'Client closed');
    } else if (!this.reconnecting) {
      this.finish(1000, 'Client closed');
    }
  }

  private newRoom(): RoomState {
    return {
      joined: false,
      // Each entry as its live event would be: `message`, `edited` or `deleted`.
      sequencer: new RoomSequencer((entry) => this.emit(ENTRY_EVENT[entry.kind], entry)),
      syncAgain: false,
      joinWaiters: [],
    };
  }

  private dropRoom(roomId: string, reason: Error): void {
    const room = this.rooms.get(roomId);
    this.rooms.delete(roomId);
    this.typingTracker.forgetRoom(roomId);
    clearTimeout(room?.gapTimer);
    for (const waiter of room?.joinWaiters.splice(0) ?? []) {
      waiter.reject(reason);
    }
  }

  private async token(): Promise<string> {
    const source = this.options.accessToken;
    const token = typeof source === 'string' ? source : await source();
    if (!token) {
      throw new Error('No access token');
    }
    this.lastToken = token;
    return token;
  }

  private openSocket(token: string): Promise<WebSocketLike> {
    const Socket =
      this.options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Socket) {
      throw new Error('No WebSocket implementation: pass one (e.g. from the "ws" package)');
    }
    const url = new URL('/ws', this.options.baseUrl.replace(/^http/, 'ws'));
    let socket: WebSocketLike;
    if (isNode()) {
      // A header stays out of URLs, and so out of proxies' and servers' access logs.
      socket = new Socket(url.toString(), { headers: { Authorization: `Bearer ${token}` } });
    } else {
      // Browsers cannot set headers on an upgrade; the server accepts the token as ?token=.
      url.searchParams.set('token', token);
      socket = new Socket(url.toString());
    }
    return new Promise((resolve, reject) => {
      let opened = false;
      let refused: UpgradeRefusedError | undefined;
      socket.on?.('unexpected-response', (_request, response) => {
        refused = new UpgradeRefusedError(
          response.statusCode ?? 0,
          parseRetryAfter(response.headers['retry-after']),
        );
        // Ends the attempt: `error`, then `close`, as for any refused upgrade.
        socket.close();
      });
      socket.addEventListener('open', () => {
        opened = true;
        resolve(socket);
      });
      socket.addEventListener('error', () => {
        if (!opened) {
          reject(refused ?? new Error('WebSocket connection refused or failed'));
        }
      });
      socket.addEventListener('message', (event) => {
        if (this.socket === socket) {
          this.receive(String(event.data));
        }
      });
      socket.addEventListener('close', ({ code, reason }) => {
        if (!opened) {
          reject(new Error(`WebSocket closed before it opened (${code})`));
        } else if (this.socket === socket) {
          this.connectionLost(code, reason);
        }
      });
    });
  }

  private connectionLost(code: number, reason: string): void {
    this.socket = undefined;
    this.resumed = false;
    for (const [ref, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(new Error(`Connection closed (${code}) before "${pending.answer}"`));
      this.pending.delete(ref);
    }
    // Unacknowledged sends stay queued: they go again, unchanged, on the next connection.
    for (const queued of this.queued) {
      clearTimeout(queued.timer);
      queued.ref = undefined;
    }
    this.queuedByRef.clear();
    if (!this.reconnecting) {
      void this.reconnect(code, reason);
    }
  }

  private async shouldReconnect(code: number): Promise<boolean> {
    if (this.stopped || this.options.reconnect === false || code === CloseCode.PolicyViolation) {
      return false;
    }
    if (code === CloseCode.TokenExpired) {
      const source = this.options.accessToken;
      const expired = this.lastToken;
      const fresh =
        typeof source === 'string'
          ? undefined
          : await Promise.resolve(source()).catch(() => undefined);
      return fresh !== undefined && fresh !== expired;
    }
    return true;
  }

  private async reconnect(code: number, reason: string): Promise<void> {
    this.reconnecting = true;
    try {
      if (!(await this.shouldReconnect(code))) {
        this.finish(code, reason);
        return;
      }
      const options = this.options.reconnect || {};
      // `attempt` counts failures only: a server that said "later" (503) did not fail.
      let attempt = 1;
      let busyForSeconds: number | undefined;
      for (;;) {
        if (this.stopped || (options.maxAttempts !== undefined && attempt > options.maxAttempts)) {
          this.finish(code, reason);
          return;
        }
        const delayMs =
          busyForSeconds === undefined
            ? reconnectDelay(attempt, options)
            : retryAfterDelay(busyForSeconds);
        this.emit('reconnecting', { attempt, delayMs, code, reason });
        await new Promise<void>((resolve) => {
          this.wakeReconnect = resolve;
          this.reconnectTimer = setTimeout(resolve, delayMs);
        });
        if (this.stopped) {
          this.finish(code, reason);
          return;
        }
        try {
          const socket = await this.openSocket(await this.token());
          this.socket = socket;
          await this.resume();
          if (this.socket !== socket) {
            // Lost again while resuming: a failure.
            attempt += 1;
            busyForSeconds = undefined;
            continue;
          }
          if (this.stopped) {
            // close() came while resuming: its close event ends the client.
            socket.close(1000, 'Client closed');
            return;
          }
          this.resumed = true;
          this.flushQueued();
          // A gap seen after its room caught up, before the client was back in service.
          for (const [roomId, room] of this.rooms) {
            if (room.sequencer.hasGap()) {
              this.catchUpRoom(roomId).catch(() => undefined);
            }
          }
          this.emit('reconnected', { attempt });
          return;
        } catch (error) {
          // Refused, or lost again while resuming: the next attempt, later.
          busyForSeconds = busyFor(error);
          if (busyForSeconds === undefined) {
            attempt += 1;
          }
          this.socket?.close(1000, 'Resume failed');
          this.socket = undefined;
        }
      }
    } finally {
      this.reconnecting = false;
    }
  }

  /** Joins every joined room again and catches each one up from its last delivered `seq`. */
  private async resume(): Promise<void> {
    await Promise.all(
      [...this.rooms.entries()].map(async ([roomId, room]) => {
        try {
          if (room.joined) {
            const joined = await this.request('join', { roomId }, 'joined');
            room.sequencer.startAt(joined.lastSeq);
            for (const waiter of room.joinWaiters.splice(0)) {
              waiter.resolve(joined);
            }
          }
          await this.catchUpRoom(roomId);
        } catch (error) {
          if (!(error instanceof RealtimeRequestError)) {
            throw error;
          }
          // Gone, or no longer ours (deleted, removed): nothing more will come from it.
          this.dropRoom(roomId, error);
        }
      }),
    );
  }

  /** `sync` pages from the last delivered `seq` until no gap is left; one run per room at once. */
  private catchUpRoom(roomId: string): Promise<void> {
    const room = this.rooms.get(roomId);
    if (!room || room.sequencer.position === undefined) {
      return Promise.resolve();
    }
    if (room.syncing) {
      room.syncAgain = true;
      return room.syncing;
    }
    const run = async () => {
      try {
        for (let round = 0; round < MAX_SYNC_ROUNDS; round++) {
          room.syncAgain = false;
          for (let more = true; more;) {
            const history = await this.sync(roomId, room.sequencer.position ?? 0, SYNC_PAGE);
            for (const message of history.messages) {
              room.sequencer.offer(message);
            }
            more = history.hasMore && history.messages.length > 0;
          }
          if (!room.syncAgain && !room.sequencer.hasGap()) {
            return;
          }
        }
      } finally {
        room.syncing = undefined;
      }
    };
    room.syncing = run();
    return room.syncing;
  }

  private enqueue<E extends AckedEvent>(
    event: E,
    data: ClientEventMap[E],
  ): Promise<ServerEventMap['ack']> {
    if (this.finished) {
      return Promise.reject(new Error('The client is closed'));
    }
    const limit = this.options.maxQueuedSends ?? DEFAULT_MAX_QUEUED_SENDS;
    if (this.queued.length >= limit) {
      return Promise.reject(new SendQueueFullError(limit));
    }
    return new Promise((resolve, reject) => {
      const queued: QueuedSend = { event, data, resolve, reject };
      this.queued.push(queued);
      if (this.connected) {
        this.transmit(queued);
      }
    });
  }

  /** In the order the app sent them: one connection's frames are stored in order (guarantee 8). */
  private flushQueued(): void {
    for (const queued of this.queued) {
      if (queued.ref === undefined) {
        this.transmit(queued);
      }
    }
  }

  private transmit(queued: QueuedSend): void {
    const ref = this.newRef();
    queued.ref = ref;
    this.queuedByRef.set(ref, queued);
    queued.timer = setTimeout(() => {
      this.settleQueued(queued);
      queued.reject(new Error(`No "ack" within ${this.timeoutMs} ms`));
    }, this.timeoutMs);
    this.socket?.send(JSON.stringify({ event: queued.event, data: queued.data, ref }));
  }

  private settleQueued(queued: QueuedSend): void {
    clearTimeout(queued.timer);
    if (queued.ref !== undefined) {
      this.queuedByRef.delete(queued.ref);
    }
    const index = this.queued.indexOf(queued);
    if (index >= 0) {
      this.queued.splice(index, 1);
    }
  }

  private finish(code: number, reason: string): void {
    if (this.finished) {
      return;
    }
    this.finished = true;
    this.typingTracker.clear();
    const error = new Error(`The client closed (${code}) before an acknowledgement`);
    for (const queued of this.queued.splice(0)) {
      clearTimeout(queued.timer);
      queued.reject(error);
    }
    this.queuedByRef.clear();
    for (const roomId of [...this.rooms.keys()]) {
      this.dropRoom(roomId, error);
    }
    this.resolveClosed({ code, reason });
  }

  private get timeoutMs(): number {
    return this.options.timeoutMs ?? 10_000;
  }

  private newRef(): string {
    return `r${(this.nextRef += 1)}`.slice(0, MAX_REF_LENGTH);
  }

  private request<E extends ClientEvent, A extends ServerEvent>(
    event: E,
    data: ClientEventMap[E],
    answer: A,
  ): Promise<ServerEventMap[A]> {
    const socket = this.socket;
    if (!socket || socket.readyState !== OPEN) {
      return Promise.reject(new Error('The connection is not open'));
    }
    const ref = this.newRef();
    return new Promise<ServerEventMap[A]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(ref);
        reject(new Error(`No "${answer}" within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(ref, { answer, resolve: resolve as (data: unknown) => void, reject, timer });
      socket.send(JSON.stringify({ event, data, ref }));
    });
  }

  /** A frame the server does not answer, sent when the connection is open, else dropped. */
  private notify<E extends ClientEvent>(event: E, data: ClientEventMap[E]): void {
    if (this.socket?.readyState === OPEN) {
      this.socket.send(JSON.stringify({ event, data }));
    }
  }

  private receive(text: string): void {
    let frame: ServerFrame;
    try {
      frame = JSON.parse(text) as ServerFrame;
    } catch {
      return;
    }
    if (frame.ref !== undefined) {
      if (this.answerRequest(frame.ref, frame) || this.answerQueued(frame.ref, frame)) {
        return;
      }
    }
    if (frame.event === 'message' || frame.event === 'edited' || frame.event === 'deleted') {
      const entry = frame.data as RealtimeMessage;
      if (frame.event === 'message') {
        this.typingTracker.messageFrom(entry.roomId, entry.senderId);
      }
      this.receiveMessage(entry);
      return;
    }
    this.emit(frame.event, frame.data);
    if (frame.event === 'typing') {
      const { roomId, userId } = frame.data as ServerEventMap['typing'];
      this.typingTracker.received(roomId, userId);
    }
  }

  private answerRequest(ref: string, frame: ServerFrame): boolean {
    const pending = this.pending.get(ref);
    if (!pending) {
      return false;
    }
    this.pending.delete(ref);
    clearTimeout(pending.timer);
    if (frame.event === 'error') {
      const error = frame.data as ServerEventMap['error'];
      pending.reject(new RealtimeRequestError(error.code, error.message));
    } else {
      pending.resolve(frame.data);
    }
    return true;
  }

  private answerQueued(ref: string, frame: ServerFrame): boolean {
    const queued = this.queuedByRef.get(ref);
    if (!queued) {
      return false;
    }
    this.settleQueued(queued);
    if (frame.event === 'error') {
      const error = frame.data as ServerEventMap['error'];
      queued.reject(new RealtimeRequestError(error.code, error.message));
    } else {
      queued.resolve(frame.data as ServerEventMap['ack']);
    }
    return true;
  }

  private receiveMessage(message: RealtimeMessage): void {
    let room = this.rooms.get(message.roomId);
    if (!room) {
      // A private message arrives without a join: its room is followed from this one on.
      room = this.newRoom();
      room.sequencer.startAt(message.seq - 1);
      this.rooms.set(message.roomId, room);
    }
    room.sequencer.offer(message);
    if (room.sequencer.hasGap() && !room.gapTimer) {
      const gapped = room;
      gapped.gapTimer = setTimeout(() => {
        gapped.gapTimer = undefined;
        if (gapped.sequencer.hasGap() && this.connected) {
          this.catchUpRoom(message.roomId).catch(() => undefined);
        }
      }, this.options.gapWaitMs ?? DEFAULT_GAP_WAIT_MS);
    }
  }

  private emit<E extends RealtimeClientEvent>(event: E, data: RealtimeClientEventMap[E]): void {
    for (const listener of this.listeners.get(event) ?? []) {
      (listener as Listener<E>)(data);
    }
  }
}
