import {
  ClientEvent,
  ClientEventMap,
  MAX_REF_LENGTH,
  RealtimeErrorCode,
  ServerEvent,
  ServerEventMap,
  ServerFrame,
} from '@libs/protocol';

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
}

/**
 * The browser's constructor takes (url); Node's (the `ws` package, undici's WebSocket) also take
 * options with headers as the second argument.
 */
export type WebSocketConstructor = new (
  url: string,
  options?: { headers: Record<string, string> },
) => WebSocketLike;

export interface RealtimeClientOptions {
  /** The server's base URL, `http(s)://…` or `ws(s)://…`. */
  baseUrl: string;
  accessToken: string;
  /** In Node 20: `WebSocket` from the `ws` package. Defaults to the global one (browsers). */
  WebSocket?: WebSocketConstructor;
  /** How long a request (`join`, `send`, …) waits for its answer. */
  timeoutMs?: number;
}

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

type Listener<E extends ServerEvent> = (data: ServerEventMap[E]) => void;

interface Pending {
  answer: ServerEvent;
  resolve: (data: unknown) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

const OPEN = 1;

function isNode(): boolean {
  const process = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof process?.versions?.node === 'string';
}

/**
 * A typed client of the `/ws` protocol. Requests (`join`, `send`, `dm`, `sync`, `auth`, `ping`)
 * return their answer, matched by `ref`; pushed events (`message`, `presence`) reach `on()`.
 *
 * ```ts
 * const socket = await RealtimeClient.connect({ baseUrl, accessToken, WebSocket });
 * socket.on('message', (message) => console.log(message.body));
 * await socket.join(roomId);
 * const ack = await socket.send(roomId, 'hello');
 * ```
 */
export class RealtimeClient {
  private readonly listeners = new Map<ServerEvent, Set<Listener<never>>>();
  private readonly pending = new Map<string, Pending>();
  private nextRef = 0;
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(
    private readonly socket: WebSocketLike,
    private readonly timeoutMs: number,
  ) {
    socket.addEventListener('message', (event) => this.receive(String(event.data)));
    this.closed = new Promise((resolve) =>
      socket.addEventListener('close', ({ code, reason }) => {
        for (const [ref, pending] of this.pending) {
          clearTimeout(pending.timer);
          pending.reject(new Error(`Connection closed (${code}) before "${pending.answer}"`));
          this.pending.delete(ref);
        }
        resolve({ code, reason });
      }),
    );
  }

  /** Opens a connection; rejects when the server refuses the upgrade (401, 403, 429, 503). */
  static connect(options: RealtimeClientOptions): Promise<RealtimeClient> {
    const Socket =
      options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Socket) {
      throw new Error('No WebSocket implementation: pass one (e.g. from the "ws" package)');
    }
    const url = new URL('/ws', options.baseUrl.replace(/^http/, 'ws'));
    let socket: WebSocketLike;
    if (isNode()) {
      // A header stays out of URLs, and so out of proxies' and servers' access logs.
      socket = new Socket(url.toString(), {
        headers: { Authorization: `Bearer ${options.accessToken}` },
      });
    } else {
      // Browsers cannot set headers on an upgrade; the server accepts the token as ?token=.
      url.searchParams.set('token', options.accessToken);
      socket = new Socket(url.toString());
    }
    return new Promise((resolve, reject) => {
      socket.addEventListener('open', () =>
        resolve(new RealtimeClient(socket, options.timeoutMs ?? 10_000)),
      );
      socket.addEventListener('error', () =>
        reject(new Error('WebSocket connection refused or failed')),
      );
    });
  }

  on<E extends ServerEvent>(event: E, listener: Listener<E>): () => void {
    const listeners = this.listeners.get(event) ?? new Set();
    listeners.add(listener);
    this.listeners.set(event, listeners);
    return () => listeners.delete(listener);
  }

  join(roomId: string): Promise<ServerEventMap['joined']> {
    return this.request('join', { roomId }, 'joined');
  }

  leave(roomId: string): Promise<ServerEventMap['left']> {
    return this.request('leave', { roomId }, 'left');
  }

  /** Resolves with the `ack` once the message is committed. */
  send(roomId: string, body: string, clientMsgId?: string): Promise<ServerEventMap['ack']> {
    return this.request(
      'send',
      clientMsgId ? { roomId, body, clientMsgId } : { roomId, body },
      'ack',
    );
  }

  dm(userId: string, body: string, clientMsgId?: string): Promise<ServerEventMap['ack']> {
    return this.request(
      'dm',
      clientMsgId ? { userId, body, clientMsgId } : { userId, body },
      'ack',
    );
  }

  sync(roomId: string, afterSeq: number, limit?: number): Promise<ServerEventMap['history']> {
    return this.request(
      'sync',
      limit ? { roomId, afterSeq, limit } : { roomId, afterSeq },
      'history',
    );
  }

  /** Renews the connection's access token before it expires (else the server closes with 4401). */
  authenticate(accessToken: string): Promise<ServerEventMap['authed']> {
    return this.request('auth', { token: accessToken }, 'authed');
  }

  ping(): Promise<ServerEventMap['pong']> {
    return this.request('ping', {}, 'pong');
  }

  close(): void {
    this.socket.close(1000, 'Client closed');
  }

  private request<E extends ClientEvent, A extends ServerEvent>(
    event: E,
    data: ClientEventMap[E],
    answer: A,
  ): Promise<ServerEventMap[A]> {
    if (this.socket.readyState !== OPEN) {
      return Promise.reject(new Error('The connection is not open'));
    }
    const ref = `r${(this.nextRef += 1)}`.slice(0, MAX_REF_LENGTH);
    return new Promise<ServerEventMap[A]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(ref);
        reject(new Error(`No "${answer}" within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(ref, { answer, resolve: resolve as (data: unknown) => void, reject, timer });
      this.socket.send(JSON.stringify({ event, data, ref }));
    });
  }

  private receive(text: string): void {
    let frame: ServerFrame;
    try {
      frame = JSON.parse(text) as ServerFrame;
    } catch {
      return;
    }
    const pending = frame.ref === undefined ? undefined : this.pending.get(frame.ref);
    if (pending && frame.ref !== undefined) {
      this.pending.delete(frame.ref);
      clearTimeout(pending.timer);
      if (frame.event === 'error') {
        const error = frame.data as ServerEventMap['error'];
        pending.reject(new RealtimeRequestError(error.code, error.message));
      } else {
        pending.resolve(frame.data);
      }
      return;
    }
    for (const listener of this.listeners.get(frame.event) ?? []) {
      listener(frame.data as never);
    }
  }
}
