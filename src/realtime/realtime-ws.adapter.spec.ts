import { EventEmitter } from 'node:events';
import { Catch, ExceptionFilter, Logger, Type, UseFilters, UsePipes } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  ConnectedSocket,
  MessageBody,
  MessageMappingProperties,
  SubscribeMessage,
} from '@nestjs/websockets';
import type { WebSocketServer } from 'ws';
import { loadConfig } from '@config';
import { InProcessTransport, MessageBus } from '@libs/bus';
import { AuthenticatedUser } from '@app/auth/authenticated-user';
import { createValidationPipe } from '@app/common/validation/validation.pipe';
import { MetricsService } from '@app/metrics/metrics.service';
import { ConnectionRegistry } from './connection-registry';
import { RealtimeConnection } from './realtime-connection';
import { RealtimeExceptionFilter } from './realtime-exception.filter';
import { RealtimeMetrics } from './realtime-metrics';
import { RealtimeSessions } from './realtime-sessions';
import { RealtimeWsAdapter } from './realtime-ws.adapter';
import { PingFrameDto } from './realtime.dto';
import { RealtimeGateway } from './realtime.gateway';
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

/** An exception filter that fails itself: what is left must not escape the adapter. */
@Catch()
class FailingFilter implements ExceptionFilter {
  catch(): void {
    throw new Error('exception filter failed');
  }
}

/**
 * A gateway as FrameRoutes reads it: its pipe, its filter (the app's unless said otherwise), its
 * `@SubscribeMessage()` handlers; `fail` does what `failing` does.
 */
function testGateway(
  failing: () => unknown,
  filter: Type<ExceptionFilter> = RealtimeExceptionFilter,
): object {
  @UsePipes(createValidationPipe())
  @UseFilters(filter)
  class TestGateway {
    @SubscribeMessage('fail')
    fail(@MessageBody() _frame: PingFrameDto): unknown {
      return failing();
    }

    @SubscribeMessage('ping')
    ping(@MessageBody() _frame: PingFrameDto, @ConnectedSocket() connection: RealtimeConnection) {
      return { event: 'pong', data: { sameConnection: connection.user.id === USER.id } };
    }
  }
  return new TestGateway();
}

async function setUp(gateway: object) {
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
      { provide: RealtimeGateway, useValue: gateway },
    ],
  }).compile();
  const adapter = new RealtimeWsAdapter(app, config);
  const server = new EventEmitter();
  adapter.bindClientConnect(server as unknown as WebSocketServer, () => undefined);
  adapter.bindMessageHandlers(
    undefined,
    ['fail', 'ping'].map((message): MessageMappingProperties => ({
      message,
      methodName: message,
      isAckHandledManually: false,
      callback: () => {
        throw new Error("Nest's bindings are not called");
      },
    })),
  );
  const socket = new RecordingSocket();
  server.emit('connection', socket, {});
  return { socket };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

const PONG = { event: 'pong', data: { sameConnection: true }, ref: 'second' };
const INTERNAL_ERROR_THEN_PONG = [
  {
    event: 'error',
    data: { code: 'internal', message: 'Internal server error', ref: 'first' },
    ref: 'first',
  },
  PONG,
];

/** A `fail` frame with `data`, then a `ping`: what the socket was sent for both. */
async function failThenPing(socket: RecordingSocket, data: unknown) {
  socket.receive({ event: 'fail', data, ref: 'first' });
  socket.receive({ event: 'ping', data: {}, ref: 'second' });
  await settle();
  return socket.sent;
}

describe(RealtimeWsAdapter.name, () => {
  let logged: jest.SpyInstance;

  beforeEach(() => {
    logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });

  afterEach(() => {
    logged.mockRestore();
  });

  it.each([
    [
      'throws while it is called',
      () => {
        throw new Error('handler threw');
      },
    ],
    ['rejects', () => Promise.reject(new Error('handler rejected'))],
  ])(
    'answers `error internal` through the exception filter when a handler %s, and serves the next frame',
    async (_case, failing) => {
      const { socket } = await setUp(testGateway(failing));

      expect(await failThenPing(socket, {})).toEqual(INTERNAL_ERROR_THEN_PONG);
      expect(socket.closedWith).toBeUndefined();
      expect(logged).toHaveBeenCalledWith(expect.objectContaining({ message: expect.any(String) }));
    },
  );

  it('answers `error internal` when the exception filter fails too, throws nothing out, and serves the next frame', async () => {
    const { socket } = await setUp(
      testGateway(() => Promise.reject(new Error('handler rejected')), FailingFilter),
    );

    expect(await failThenPing(socket, {})).toEqual(INTERNAL_ERROR_THEN_PONG);
    expect(logged).toHaveBeenCalledWith(expect.stringContaining('Handler of "fail" failed'));
  });

  it('refuses a frame its pipe refuses with `error invalid_data`, the handler not called', async () => {
    const failing = jest.fn();
    const { socket } = await setUp(testGateway(failing));

    const sent = await failThenPing(socket, { unexpected: true });

    expect(failing).not.toHaveBeenCalled();
    expect(sent[0]).toMatchObject({ event: 'error', data: { code: 'invalid_data' } });
    expect(sent[1]).toEqual(PONG);
  });
});
