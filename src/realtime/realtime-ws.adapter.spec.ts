import { EventEmitter } from 'node:events';
import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { MessageMappingProperties } from '@nestjs/websockets';
import { config as rxjsConfig, from, isObservable, Observable, of, throwError } from 'rxjs';
import type { WebSocketServer } from 'ws';
import { loadConfig } from '@config';
import { InProcessTransport, MessageBus } from '@libs/bus';
import { AuthenticatedUser } from '@app/auth/authenticated-user';
import { MetricsService } from '@app/metrics/metrics.service';
import { ConnectionRegistry } from './connection-registry';
import { RealtimeMetrics } from './realtime-metrics';
import { RealtimeSessions } from './realtime-sessions';
import { RealtimeWsAdapter } from './realtime-ws.adapter';
import { UpgradeAuthenticator } from './upgrade-authenticator';

/** A socket as the adapter uses it: frames in through `message`, frames out recorded. */
class RecordingSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  readonly sent: { event: string; data: Record<string, unknown>; ref?: string }[] = [];
  closedWith: number | undefined;
  send(data: string) {
    this.sent.push(JSON.parse(data) as RecordingSocket['sent'][number]);
  }
  close(code: number) {
    this.closedWith = code;
    this.readyState = 2;
  }
  terminate() {
    this.readyState = 3;
  }
  receive(frame: unknown) {
    this.emit('message', Buffer.from(JSON.stringify(frame)), false);
  }
}

const USER: AuthenticatedUser = {
  id: '8b027f08-0000-4000-8000-000000000001',
  sessionId: '8b027f08-0000-4000-8000-000000000002',
  expiresAt: new Date(Date.now() + 60_000),
};

/** A gateway handler as Nest calls it: it may return a value, a promise or an observable. */
type Handler = (data: unknown) => unknown;

async function setUp(handlers: Record<string, Handler>) {
  const config = loadConfig({ NODE_ENV: 'test' });
  const metricsService = new MetricsService();
  const metrics = new RealtimeMetrics(metricsService, new MessageBus(new InProcessTransport()));
  const registry = new ConnectionRegistry(config, metrics, metricsService);
  const sessions: Pick<RealtimeSessions, 'open'> = {
    open: (socket, user) => registry.add(socket, user).connection,
  };
  const authenticator: Pick<UpgradeAuthenticator, 'userOf'> = { userOf: () => USER };
  const app = await Test.createTestingModule({
    providers: [
      { provide: UpgradeAuthenticator, useValue: authenticator },
      { provide: ConnectionRegistry, useValue: registry },
      { provide: RealtimeSessions, useValue: sessions },
      { provide: RealtimeMetrics, useValue: metrics },
    ],
  }).compile();
  const adapter = new RealtimeWsAdapter(app, config);
  const server = new EventEmitter();
  adapter.bindClientConnect(server as unknown as WebSocketServer, () => undefined);
  adapter.bindMessageHandlers(
    undefined,
    Object.entries(handlers).map(([message, callback]): MessageMappingProperties => ({
      message,
      methodName: message,
      isAckHandledManually: false,
      callback: callback as MessageMappingProperties['callback'],
    })),
    // As Nest's transform: an observable as it is, a promise awaited, a value as one emission.
    (result: unknown): Observable<unknown> =>
      isObservable(result) ? result : result instanceof Promise ? from(result) : of(result),
  );
  const socket = new RecordingSocket();
  server.emit('connection', socket, {});
  return { socket };
}

/** Errors RxJS would have thrown out of a timer (an uncaught exception in the process). */
function collectUnhandledErrors(): { errors: unknown[]; restore: () => void } {
  const errors: unknown[] = [];
  const previous = rxjsConfig.onUnhandledError;
  rxjsConfig.onUnhandledError = (error) => errors.push(error);
  return { errors, restore: () => (rxjsConfig.onUnhandledError = previous) };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe(RealtimeWsAdapter.name, () => {
  let unhandled: ReturnType<typeof collectUnhandledErrors>;
  let logged: jest.SpyInstance;

  beforeEach(() => {
    unhandled = collectUnhandledErrors();
    logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });

  afterEach(() => {
    unhandled.restore();
    logged.mockRestore();
  });

  it.each([
    ['errors its observable', () => throwError(() => new Error('exception filter failed'))],
    [
      'throws while it is called',
      () => {
        throw new Error('handler threw');
      },
    ],
    ['rejects', () => Promise.reject(new Error('handler rejected'))],
  ])(
    'answers `error internal` when a handler %s, throws nothing out, and serves the next frame',
    async (_case, failing) => {
      const { socket } = await setUp({
        fail: failing,
        ping: () => ({ event: 'pong', data: {} }),
      });

      socket.receive({ event: 'fail', data: {}, ref: 'first' });
      socket.receive({ event: 'ping', data: {}, ref: 'second' });
      await settle();

      expect(unhandled.errors).toEqual([]);
      expect(socket.sent).toEqual([
        {
          event: 'error',
          data: { code: 'internal', message: 'Internal server error', ref: 'first' },
          ref: 'first',
        },
        { event: 'pong', data: {}, ref: 'second' },
      ]);
      expect(socket.closedWith).toBeUndefined();
      expect(logged).toHaveBeenCalledWith(expect.stringContaining('Handler of "fail" failed'));
    },
  );
});
