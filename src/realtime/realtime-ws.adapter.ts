import type { IncomingMessage } from 'node:http';
import { INestApplicationContext, Logger } from '@nestjs/common';
import { MessageMappingProperties } from '@nestjs/websockets';
import { WsAdapter } from '@nestjs/platform-ws';
import type {
  RawData,
  ServerOptions,
  VerifyClientCallbackAsync,
  WebSocket,
  WebSocketServer,
} from 'ws';
import { AppConfig } from '@config';
import { MAX_REF_LENGTH, RealtimeErrorCode } from '@libs/protocol';
import { exceedsJsonDepth } from '@app/common/validation/json-depth';
import { ConnectionRegistry } from './connection-registry';
import { FrameRoutes } from './frame-routes';
import { RealtimeConnection } from './realtime-connection';
import { RealtimeMetrics } from './realtime-metrics';
import { RealtimeSessions } from './realtime-sessions';
import { RealtimeGateway } from './realtime.gateway';
import { UpgradeAuthenticator, UpgradeVerdict } from './upgrade-authenticator';

/**
 * Stands in for a client when Nest binds the gateway's handlers (see `bindClientConnect`). Frames
 * never reach those bindings: `FrameRoutes` calls the handlers with the frame's connection.
 */
const ANY_CONNECTION = Object.freeze({
  placeholder: 'the gateway handlers serve every connection',
});

/**
 * Nest's `ws` adapter with what the protocol needs and the stock one does not do: the upgrade is
 * authenticated before the 101 (`verifyClient`), frames are size-capped, and every frame is
 * rate-limited, parsed and checked here, so that bad JSON, an unknown event or a flood get an
 * `error` frame (then 1008 when it persists) instead of being dropped in silence. A handler's
 * answer goes back with the frame's `ref`. One connection's frames are handled one after another,
 * in the order they arrived, so that its messages get seqs in the order sent (guarantee 8).
 *
 * It also owns the connection lifecycle, to keep an idle connection small: Nest would bind every
 * gateway handler to each client and add closures per socket. Here the handlers are bound once,
 * to a placeholder, and every socket shares the same three listeners (`this` is the socket).
 */
export class RealtimeWsAdapter extends WsAdapter {
  private readonly authenticator: UpgradeAuthenticator;
  private readonly registry: ConnectionRegistry;
  private readonly sessions: RealtimeSessions;
  private readonly metrics: RealtimeMetrics;
  private readonly socketLogger = new Logger('RealtimeSocket');
  private readonly routes: FrameRoutes;
  private readonly onSocketMessage: (this: WebSocket, data: RawData, isBinary: boolean) => void;
  private readonly onSocketClose: (this: WebSocket) => void;
  private readonly onSocketPong: (this: WebSocket) => void;
  private readonly onSocketError: (this: WebSocket, error: Error) => void;

  constructor(
    app: INestApplicationContext,
    private readonly config: AppConfig,
  ) {
    super(app);
    this.authenticator = app.get(UpgradeAuthenticator);
    this.registry = app.get(ConnectionRegistry);
    this.sessions = app.get(RealtimeSessions);
    this.metrics = app.get(RealtimeMetrics);
    this.routes = new FrameRoutes(app.get(RealtimeGateway));
    const registry = this.registry;
    const sessions = this.sessions;
    const dispatch = this.dispatch.bind(this);
    this.onSocketMessage = function (data, isBinary) {
      const connection = registry.get(this);
      if (connection) {
        dispatch(connection, data, isBinary);
      }
    };
    this.onSocketClose = function () {
      const connection = registry.get(this);
      if (connection) {
        sessions.close(connection, this);
      }
    };
    this.onSocketPong = function () {
      registry.get(this)?.markAlive();
    };
    // A client's protocol error (a frame over WS_MAX_PAYLOAD, bad masking): ws closes the socket.
    const socketLogger = this.socketLogger;
    this.onSocketError = function (error) {
      socketLogger.debug(`Socket error: ${error.message}`);
    };
  }

  override create(port: number, options: ServerOptions & { path?: string }): unknown {
    return super.create(port, {
      ...options,
      maxPayload: this.config.websocket.maxPayload,
      // Compression costs CPU and memory per socket, and prepared frames are written uncompressed.
      perMessageDeflate: false,
      // The registry tracks every socket; ws's own set would cost each one a closure and an entry.
      clientTracking: false,
      verifyClient: ((info, accept) => {
        this.authenticator.verify(info.req).then(
          (verdict) => (verdict.accepted ? accept(true) : this.refuseUpgrade(verdict, accept)),
          () => accept(false, 500, 'Internal server error'),
        );
      }) satisfies VerifyClientCallbackAsync,
    });
  }

  /** Without ws's client tracking (see `create`), the registry has the sockets to cut. */
  override async close(server: WebSocketServer): Promise<void> {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    this.registry.terminateAll();
    await closed;
  }

  override bindErrorHandler(server: WebSocketServer): WebSocketServer {
    server.on('error', (error: Error) => this.socketLogger.error(error));
    return server;
  }

  /**
   * Nest's per-connection handler is called once, for the placeholder: that binds the gateway's
   * handlers (`bindMessageHandlers`). Real connections are then opened here.
   */
  override bindClientConnect(
    server: WebSocketServer,
    nestConnectionHandler: (...args: unknown[]) => void,
  ): void {
    nestConnectionHandler(ANY_CONNECTION);
    server.on('connection', (socket: WebSocket, request: IncomingMessage) =>
      this.open(socket, request),
    );
  }

  override bindClientDisconnect(): void {
    // Closing is `onSocketClose`, for every socket alike.
  }

  /** Nest's bindings are not called (see FrameRoutes); they must name the same events. */
  override bindMessageHandlers(_client: unknown, handlers: MessageMappingProperties[]): void {
    const bound = handlers.map((handler) => handler.message as string).sort();
    if (bound.join() !== [...this.routes.events].sort().join()) {
      throw new Error(
        `RealtimeWsAdapter: Nest binds the events ${bound.join(', ')}, FrameRoutes routes ${this.routes.events.join(', ')}`,
      );
    }
  }

  private open(socket: WebSocket, request: IncomingMessage): void {
    const user = this.authenticator.userOf(request);
    if (!user) {
      socket.terminate();
      return;
    }
    socket.on('error', this.onSocketError);
    socket.on('close', this.onSocketClose);
    socket.on('pong', this.onSocketPong);
    socket.on('message', this.onSocketMessage);
    this.sessions.open(socket, user);
  }

  private dispatch(connection: RealtimeConnection, data: RawData, isBinary: boolean): void {
    if (!connection.acceptFrame()) {
      this.refuse(connection, 'rate_limited', 'Too many frames; slow down', undefined);
      return;
    }
    const frame = parseFrame(data, isBinary, this.config.http.jsonMaxDepth);
    if ('problem' in frame) {
      this.refuse(connection, frame.problem, frame.message, frame.ref);
      return;
    }
    if (!this.routes.has(frame.event)) {
      this.refuse(connection, 'unknown_event', `Unknown event "${frame.event}"`, frame.ref);
      return;
    }
    this.metrics.framesReceived.inc({ event: frame.event });
    // Ordered here, on arrival, not in the handlers: pipes before them may take varying turns.
    const previous = connection.handling;
    const handled = previous
      ? previous.then(() => this.handle(connection, frame))
      : this.handle(connection, frame);
    connection.handling = handled;
    // Nothing kept once the connection is idle again.
    void handled.then(() => {
      if (connection.handling === handled) {
        connection.handling = undefined;
      }
    });
  }

  /** Runs the frame's handler and sends its answer; resolves once answered, never rejects. */
  private async handle(
    connection: RealtimeConnection,
    frame: { event: string; data: unknown; ref: string | undefined },
  ): Promise<void> {
    try {
      const answer = await this.routes.handle(frame.event, frame, connection);
      if (answer?.event) {
        connection.send(answer.event as never, answer.data as never, frame.ref);
      }
    } catch (error) {
      // Only what the exception filter could not answer gets here.
      this.handlerFailed(connection, frame, error);
    }
  }

  /** Logged, and answered `error internal` (the server's fault: it never counts as abuse). */
  private handlerFailed(
    connection: RealtimeConnection,
    frame: { event: string; ref: string | undefined },
    error: unknown,
  ): void {
    try {
      const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
      this.socketLogger.error(`Handler of "${frame.event}" failed: ${detail}`);
      connection.refuse('internal', 'Internal server error', frame.ref, false);
    } catch (failure) {
      this.socketLogger.error(`Answering a failed "${frame.event}" failed too: ${String(failure)}`);
    }
  }

  private refuseUpgrade(
    verdict: Extract<UpgradeVerdict, { accepted: false }>,
    accept: Parameters<VerifyClientCallbackAsync>[1],
  ): void {
    this.metrics.upgradesRefused.inc({ status: String(verdict.status), reason: verdict.reason });
    accept(false, verdict.status, verdict.message, verdict.headers);
  }

  private refuse(
    connection: RealtimeConnection,
    code: RealtimeErrorCode,
    message: string,
    ref: string | undefined,
  ): void {
    this.metrics.framesReceived.inc({ event: 'refused' });
    connection.refuse(code, message, ref);
  }
}

type ParsedFrame =
  | { event: string; data: unknown; ref: string | undefined }
  | { problem: RealtimeErrorCode; message: string; ref?: string };

function parseFrame(data: RawData, isBinary: boolean, maxDepth: number): ParsedFrame {
  if (isBinary) {
    return { problem: 'bad_frame', message: 'Frames are JSON text' };
  }
  const text = textOf(data);
  // Checked before parsing: parsing and validating a deep frame would cost the whole event loop.
  if (exceedsJsonDepth(text, maxDepth)) {
    return {
      problem: 'nesting_too_deep',
      message: `The frame nests objects and arrays deeper than ${maxDepth} levels`,
    };
  }
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch {
    return { problem: 'bad_json', message: 'The frame is not valid JSON' };
  }
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) {
    return { problem: 'bad_frame', message: 'A frame is an object: {"event": …, "data": {…}}' };
  }
  const { event, data: payload, ref } = frame as Record<string, unknown>;
  if (ref !== undefined && (typeof ref !== 'string' || ref.length > MAX_REF_LENGTH)) {
    return {
      problem: 'bad_frame',
      message: `ref must be a string of at most ${MAX_REF_LENGTH} characters`,
    };
  }
  if (typeof event !== 'string') {
    return { problem: 'bad_frame', message: 'event must be a string', ref };
  }
  return { event, data: payload, ref };
}

/** ws hands text frames over as a Buffer (its default binaryType); the other forms for safety. */
function textOf(data: RawData): string {
  if (Buffer.isBuffer(data)) {
    return data.toString('utf8');
  }
  return (Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)).toString('utf8');
}
