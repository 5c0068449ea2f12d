import WebSocket from 'ws';
import type { ServerEvent, ServerEventMap, ServerFrame } from '@libs/client';
import { assertClientFrame, checkServerFrame } from './frame-contract';

const DEFAULT_TIMEOUT_MS = 5000;

export interface ConnectOptions {
  token?: string;
  /** Send the token as `?token=` (as browsers must) instead of the Authorization header. */
  tokenInQuery?: boolean;
  origin?: string;
  /** false: a dead peer, which does not answer the server's pings. */
  autoPong?: boolean;
}

/** How an upgrade ended: the socket, or the HTTP status the server refused it with. */
export type UpgradeOutcome =
  | { accepted: true; client: WsTestClient }
  | { accepted: false; status: number; headers: Record<string, string | string[] | undefined> };

/**
 * A real `ws` client for tests: records every frame the server sends so that a test can wait
 * for the next one of an event, and how the socket closed. Every frame it sends (but those of
 * `sendUnchecked`) and receives is checked against asyncapi.json: a frame that breaks it fails
 * the test (see frame-contract.ts).
 */
export class WsTestClient {
  readonly frames: ServerFrame[] = [];
  /** Why frames received broke the document: waiting for a frame then fails at once. */
  private readonly violations: string[] = [];
  private readonly waiters: (() => void)[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  /**
   * @param localPort the client's end of the TCP connection: which server process holds the
   *   other end tells a test where the connection landed (see ClusterProcess.workerOf).
   */
  private constructor(
    readonly socket: WebSocket,
    readonly localPort: number,
  ) {
    socket.on('message', (data) => {
      const frame = JSON.parse((data as Buffer).toString('utf8')) as ServerFrame;
      const problem = checkServerFrame(frame);
      if (problem) {
        this.violations.push(problem);
      }
      this.frames.push(frame);
      this.waiters.splice(0).forEach((wake) => wake());
    });
    this.closed = new Promise((resolve) =>
      socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  }

  static async connect(baseUrl: string, options: ConnectOptions = {}): Promise<WsTestClient> {
    const outcome = await WsTestClient.tryConnect(baseUrl, options);
    if (!outcome.accepted) {
      throw new Error(`Upgrade refused with ${outcome.status}`);
    }
    return outcome.client;
  }

  static tryConnect(baseUrl: string, options: ConnectOptions = {}): Promise<UpgradeOutcome> {
    const url = new URL('/ws', baseUrl.replace(/^http/, 'ws'));
    const headers: Record<string, string> = {};
    if (options.token && options.tokenInQuery) {
      url.searchParams.set('token', options.token);
    } else if (options.token) {
      headers.Authorization = `Bearer ${options.token}`;
    }
    const socket = new WebSocket(url, {
      headers,
      origin: options.origin,
      autoPong: options.autoPong ?? true,
    });
    let localPort = 0;
    socket.once('upgrade', (response) => (localPort = response.socket.localPort ?? 0));
    return new Promise((resolve, reject) => {
      socket.once('open', () =>
        resolve({ accepted: true, client: new WsTestClient(socket, localPort) }),
      );
      socket.once('unexpected-response', (_request, response) => {
        resolve({ accepted: false, status: response.statusCode ?? 0, headers: response.headers });
        socket.terminate();
      });
      socket.once('error', reject);
    });
  }

  /**
   * A frame as given (text, or a value sent as JSON), not checked against the document: for
   * frames that are invalid on purpose.
   */
  sendUnchecked(frame: unknown): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** A frame of the protocol; throws, without sending it, when it breaks asyncapi.json. */
  send(event: string, data: unknown, ref?: string): void {
    const frame = ref === undefined ? { event, data } : { event, data, ref };
    assertClientFrame(frame);
    this.sendUnchecked(frame);
  }

  /** The next frame of `event` not yet taken (frames of other events stay for later). */
  async next<E extends ServerEvent>(
    event: E,
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<ServerFrame<E>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.throwOnViolation();
      const index = this.frames.findIndex((frame) => frame.event === event);
      if (index >= 0) {
        return this.frames.splice(index, 1)[0] as ServerFrame<E>;
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new Error(
          `No "${event}" frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames)}`,
        );
      }
      await this.nextFrameOrTimeout(remaining);
    }
  }

  private throwOnViolation(): void {
    if (this.violations.length > 0) {
      throw new Error(this.violations.join('\n'));
    }
  }

  private nextFrameOrTimeout(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * Waits for a frame of `event` whose data matches, then takes every frame of `event` up to and
   * including it. A frame that must not come is caught by waiting for one that must come after it.
   */
  async takeThrough<E extends ServerEvent>(
    event: E,
    matches: (data: ServerEventMap[E]) => boolean,
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<ServerEventMap[E][]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.throwOnViolation();
      const index = this.frames.findIndex(
        (frame) => frame.event === event && matches((frame as ServerFrame<E>).data),
      );
      if (index >= 0) {
        const taken = this.frames.slice(0, index + 1).filter((frame) => frame.event === event);
        this.frames.splice(
          0,
          index + 1,
          ...this.frames.slice(0, index).filter((frame) => frame.event !== event),
        );
        return taken.map((frame) => (frame as ServerFrame<E>).data);
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new Error(
          `No matching "${event}" frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames)}`,
        );
      }
      await this.nextFrameOrTimeout(remaining);
    }
  }

  /** The data of every frame of `event` received and not yet taken, without taking them. */
  received<E extends ServerEvent>(event: E): ServerEventMap[E][] {
    return this.frames.flatMap((frame) =>
      frame.event === event ? [(frame as ServerFrame<E>).data] : [],
    );
  }

  /** Sends a frame and waits for the answer of `event`. */
  async request<E extends ServerEvent>(
    event: string,
    data: unknown,
    answer: E,
  ): Promise<ServerFrame<E>> {
    this.send(event, data);
    return this.next(answer);
  }

  close(): void {
    this.socket.close();
  }

  async closeAndWait(): Promise<void> {
    if (this.socket.readyState !== WebSocket.CLOSED) {
      this.socket.close();
      await this.closed;
    }
  }
}

/** WebSocket test clients that are closed after each test of the suite that uses them. */
export interface WsTestClients {
  /** A client of `user` on the server at `target.url`, closed after the test. */
  connect(target: { url: string }, user: { accessToken: string }): Promise<WsTestClient>;
}

/** Call in a `describe`: registers the `afterEach` that closes the clients each test opened. */
export function useWsTestClients(): WsTestClients {
  const clients: WsTestClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.closeAndWait()));
  });
  return {
    async connect(target, user) {
      const client = await WsTestClient.connect(target.url, { token: user.accessToken });
      clients.push(client);
      return client;
    },
  };
}
