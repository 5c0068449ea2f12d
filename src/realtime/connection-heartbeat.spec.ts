import type { WebSocket } from 'ws';
import { loadConfig } from '@config';
import { InProcessTransport, MessageBus } from '@libs/bus';
import { MetricsService } from '@app/metrics/metrics.service';
import { ConnectionRegistry } from './connection-registry';
import { SWEEP_TICK_MS } from './paced-sweep';
import { RealtimeMetrics } from './realtime-metrics';

const HEARTBEAT_MS = 30_000;
const CONNECTIONS = 15_000;
/** Ticks in one heartbeat interval, and the share of the connections each may touch. */
const TICKS = HEARTBEAT_MS / SWEEP_TICK_MS;
const PER_TICK = Math.ceil(CONNECTIONS / TICKS);

/** A socket that counts what the heartbeat does to it, and when. */
class HeartbeatSocket {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  pings = 0;
  terminated = false;
  constructor(private readonly touched: () => void) {}
  ping() {
    this.pings += 1;
    this.touched();
  }
  terminate() {
    this.terminated = true;
    this.readyState = 3;
    this.touched();
  }
}

describe('ConnectionRegistry heartbeat', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('pings 15,000 connections once per interval, a slice per tick, never all in one turn', () => {
    const config = loadConfig({ NODE_ENV: 'test', WS_HEARTBEAT_MS: String(HEARTBEAT_MS) });
    const metricsService = new MetricsService();
    const metrics = new RealtimeMetrics(metricsService, new MessageBus(new InProcessTransport()));
    const registry = new ConnectionRegistry(config, metrics, metricsService);
    let touchedThisTick = 0;
    const sockets = Array.from({ length: CONNECTIONS }, (_, index) => {
      const socket = new HeartbeatSocket(() => (touchedThisTick += 1));
      registry.add(socket as unknown as WebSocket, {
        id: `user-${index}`,
        sessionId: 'session',
        expiresAt: new Date(Date.now() + 10 * HEARTBEAT_MS),
      });
      return socket;
    });
    registry.onModuleInit();
    /** The sockets touched in each tick over `ms`. */
    const run = (ms: number) => {
      const perTick: number[] = [];
      for (let elapsed = 0; elapsed < ms; elapsed += SWEEP_TICK_MS) {
        touchedThisTick = 0;
        jest.advanceTimersByTime(SWEEP_TICK_MS);
        perTick.push(touchedThisTick);
      }
      return perTick;
    };

    const firstInterval = run(HEARTBEAT_MS);
    expect(Math.max(...firstInterval)).toBeLessThanOrEqual(PER_TICK);
    expect(firstInterval.reduce((sum, count) => sum + count, 0)).toBe(CONNECTIONS);
    expect(sockets.every((socket) => socket.pings === 1)).toBe(true);

    // None answered: each is cut at its next visit, one interval later, again in slices.
    const secondInterval = run(HEARTBEAT_MS);
    expect(Math.max(...secondInterval)).toBeLessThanOrEqual(PER_TICK);
    expect(sockets.every((socket) => socket.terminated && socket.pings === 1)).toBe(true);
    registry.onModuleDestroy();
  });
});
