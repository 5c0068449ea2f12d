import type { HandshakeResult } from '@bench/load/ws-connections';
import type { HandshakeLoad } from '@bench/load/ws-handshakes';
import { bothSides, figureOf } from '@bench/report/figure';
import { TARGETS } from '@bench/report/targets';
import { BenchWorker } from '@bench/support/bench-worker';
import { measureCpu } from '@bench/support/cpu-meter';
import { LOAD_CORE } from '@bench/support/cores';
import { interleavedRounds, Measurement, Scenario } from './scenario';
import { prepareWebSockets, webSocketUrl } from './websocket-setup';

/** Bounds a round besides its time. */
const MAX_CONNECTIONS_PER_ROUND = 20_000;
const CONCURRENCY = 20;

function handshakeMeasurement(
  client: BenchWorker,
  serverPid: number,
  target: Omit<HandshakeLoad, 'seconds' | 'connections' | 'concurrency'>,
): Measurement {
  return async (seconds) => {
    const load: HandshakeLoad = {
      ...target,
      seconds,
      connections: MAX_CONNECTIONS_PER_ROUND,
      concurrency: CONCURRENCY,
    };
    const { result, cpu } = await measureCpu(serverPid, () =>
      client.request<HandshakeResult>('run', load),
    );
    return {
      value: (cpu.serverCpuSeconds * 1e6) / Math.max(result.completed, 1),
      cpu,
      errors: result.failed,
      details: { connectionsPerSecond: result.completed / result.seconds },
    };
  };
}

export const websocketHandshake: Scenario = {
  name: 'ws-handshake',
  describe:
    'WebSocket upgrade with the token in the Authorization header, join, close: server CPU per connection, beside a bare ws handshake',
  async run(context) {
    const setup = await prepareWebSockets(context, 0);
    const client = BenchWorker.start(context.scope, 'load/ws-handshakes', LOAD_CORE);
    const samples = await interleavedRounds(context, {
      switchboard: handshakeMeasurement(client, setup.server.pid, {
        url: webSocketUrl(setup.server.url),
        token: setup.owner.accessToken,
        roomId: setup.roomId,
      }),
      baseline: handshakeMeasurement(client, setup.bare.pid, {
        url: webSocketUrl(setup.bare.url),
        token: setup.owner.accessToken,
        roomId: null,
      }),
    });
    return [
      figureOf({
        scenario: 'ws-handshake',
        id: 'ws-handshake-cpu',
        title: 'WebSocket handshake + `join` + close, server CPU per connection',
        unit: 'µs',
        better: 'lower',
        ...bothSides(samples, 'bare `ws`: handshake + close'),
        target: TARGETS.handshakeCpuPerConnection,
        notes: [
          `${CONCURRENCY} connections at a time from one Node \`ws\` client; server CPU from /proc/<pid>/stat (10 ms ticks) over the whole round`,
        ],
      }),
    ];
  },
};
