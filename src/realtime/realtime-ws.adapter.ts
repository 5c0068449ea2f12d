import { INestApplicationContext } from '@nestjs/common';
import { MessageMappingProperties } from '@nestjs/websockets';
import { WsAdapter } from '@nestjs/platform-ws';
import { Observable } from 'rxjs';
import type { RawData, ServerOptions, VerifyClientCallbackAsync, WebSocket } from 'ws';
import { AppConfig } from '@config';
import { CloseCode, MAX_REF_LENGTH, RealtimeErrorCode } from '@libs/protocol';
import { exceedsJsonDepth } from '@app/common/validation/json-depth';
import { ConnectionRegistry } from './connection-registry';
import { frameContext } from './frame-context';
import { RealtimeConnection } from './realtime-connection';
import { RealtimeMetrics } from './realtime-metrics';
import { UpgradeAuthenticator, UpgradeVerdict } from './upgrade-authenticator';

interface HandlerResult {
  event: string;
  data: unknown;
}

/**
 * Nest's `ws` adapter with what the protocol needs and the stock one does not do: the upgrade is
 * authenticated before the 101 (`verifyClient`), frames are size-capped, and every frame is
 * rate-limited, parsed and checked here, so that bad JSON, an unknown event or a flood get an
 * `error` frame (then 1008 when it persists) instead of being dropped in silence. A handler's
 * answer goes back with the frame's `ref`. One connection's frames are handled one after another,
 * in the order they arrived, so that its messages get seqs in the order sent (guarantee 8).
 */
export class RealtimeWsAdapter extends WsAdapter {
  private readonly authenticator: UpgradeAuthenticator;
  private readonly connections: ConnectionRegistry;
  private readonly metrics: RealtimeMetrics;
  /** Each connection's last frame in hand: the next one starts when it is done. */
  private readonly handling = new WeakMap<RealtimeConnection, Promise<void>>();

  constructor(
    app: INestApplicationContext,
    private readonly config: AppConfig,
  ) {
    super(app);
    this.authenticator = app.get(UpgradeAuthenticator);
    this.connections = app.get(ConnectionRegistry);
    this.metrics = app.get(RealtimeMetrics);
  }

  override create(port: number, options: ServerOptions & { path?: string }): unknown {
    return super.create(port, {
      ...options,
      maxPayload: this.config.websocket.maxPayload,
      // Compression costs CPU and memory per socket; chat frames are small.
      perMessageDeflate: false,
      verifyClient: ((info, accept) => {
        this.authenticator.verify(info.req).then(
          (verdict) => (verdict.accepted ? accept(true) : this.refuseUpgrade(verdict, accept)),
          () => accept(false, 500, 'Internal server error'),
        );
      }) satisfies VerifyClientCallbackAsync,
    });
  }

  override bindMessageHandlers(
    socket: WebSocket,
    handlers: MessageMappingProperties[],
    transform: (data: unknown) => Observable<unknown>,
  ): void {
    const callbacks = new Map(handlers.map((handler) => [handler.message, handler.callback]));
    socket.on('message', (data: RawData, isBinary: boolean) => {
      const connection = this.connections.get(socket);
      if (connection) {
        this.dispatch(connection, data, isBinary, callbacks, transform);
      }
    });
  }

  private dispatch(
    connection: RealtimeConnection,
    data: RawData,
    isBinary: boolean,
    callbacks: Map<unknown, MessageMappingProperties['callback']>,
    transform: (data: unknown) => Observable<unknown>,
  ): void {
    if (!connection.acceptFrame()) {
      this.refuse(connection, 'rate_limited', 'Too many frames; slow down', undefined);
      return;
    }
    const frame = parseFrame(data, isBinary, this.config.http.jsonMaxDepth);
    if ('problem' in frame) {
      this.refuse(connection, frame.problem, frame.message, frame.ref);
      return;
    }
    const callback = callbacks.get(frame.event);
    if (!callback) {
      this.refuse(connection, 'unknown_event', `Unknown event "${frame.event}"`, frame.ref);
      return;
    }
    this.metrics.framesReceived.inc({ event: frame.event });
    // Ordered here, on arrival, not in the handlers: pipes before them may take varying turns.
    const previous = this.handling.get(connection) ?? Promise.resolve();
    const handled = previous.then(() => this.handle(connection, frame, callback, transform));
    this.handling.set(connection, handled);
  }

  /** Runs the frame's handler; resolves once it has answered (or failed). */
  private handle(
    connection: RealtimeConnection,
    frame: { event: string; data: unknown; ref: string | undefined },
    callback: MessageMappingProperties['callback'],
    transform: (data: unknown) => Observable<unknown>,
  ): Promise<void> {
    return new Promise((resolve) => {
      frameContext.run({ connection, ref: frame.ref }, () => {
        transform(callback(frame.data ?? {}, frame.event)).subscribe({
          next: (result) => {
            const answer = result as HandlerResult | undefined;
            if (answer?.event) {
              connection.send(answer.event as never, answer.data as never, frame.ref);
            }
          },
          complete: () => resolve(),
          error: (error: unknown) => {
            resolve();
            // As before: an error the exception filter did not take is reported, not swallowed.
            throw error;
          },
        });
      });
    });
  }

  private refuseUpgrade(
    verdict: Extract<UpgradeVerdict, { accepted: false }>,
    accept: Parameters<VerifyClientCallbackAsync>[1],
  ): void {
    this.metrics.upgradesRefused.inc({ status: String(verdict.status) });
    accept(false, verdict.status, verdict.message, verdict.headers);
  }

  private refuse(
    connection: RealtimeConnection,
    code: RealtimeErrorCode,
    message: string,
    ref: string | undefined,
  ): void {
    this.metrics.framesReceived.inc({ event: 'refused' });
    connection.send('error', ref === undefined ? { code, message } : { code, message, ref }, ref);
    if (!connection.strike()) {
      connection.close(CloseCode.PolicyViolation, 'Too many refused frames');
    }
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
