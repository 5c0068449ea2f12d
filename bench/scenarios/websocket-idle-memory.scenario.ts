import { setTimeout as sleep } from 'node:timers/promises';
import { bothSides, figureOf, Sample } from '@bench/report/figure';
import { TARGETS } from '@bench/report/targets';
import { BenchWorker } from '@bench/support/bench-worker';
import { measureCpu } from '@bench/support/cpu-meter';
import { LOAD_CORE } from '@bench/support/cores';
import { heapUsedAfterFullGc } from '@bench/support/inspector-heap';
import { findFreePort } from '@bench/support/network';
import { residentBytes } from '@bench/support/process-cpu';
import { interleavedRounds, Measurement, Scenario } from './scenario';
import { prepareWebSockets, webSocketUrl } from './websocket-setup';

/** Lets timers and the last joins' work finish before the heap is read. */
const SETTLE_MS = 1000;
const MEMBERS = 10;

interface IdleSide {
  pid: number;
  inspectPort: number;
  target: { url: string; tokens: string[]; roomId: string | null };
}

async function settledHeap(side: IdleSide): Promise<number> {
  await sleep(SETTLE_MS);
  return heapUsedAfterFullGc(side.pid, side.inspectPort);
}

function idleMemoryMeasurement(
  holder: BenchWorker,
  side: IdleSide,
  connections: number,
): Measurement {
  return async (seconds): Promise<Sample> => {
    const before = await settledHeap(side);
    const rssBefore = residentBytes(side.pid);
    const { result, cpu } = await measureCpu(side.pid, () =>
      holder.request<{ open: number; failed: number }>('open', {
        ...side.target,
        total: connections,
        concurrency: 50,
        seconds: Math.max(seconds, 60),
      }),
    );
    const after = await settledHeap(side);
    await holder.request('closeAll');
    return {
      value: (after - before) / result.open,
      cpu,
      errors: result.failed,
      details: {
        connections: result.open,
        heapUsedBefore: before,
        heapUsedAfter: after,
        rssWithoutConnectionsMiB: rssBefore / 2 ** 20,
      },
    };
  };
}

export const websocketIdleMemory: Scenario = {
  name: 'ws-idle-memory',
  describe: 'heap per idle connection joined to a room, beside bare ws connections',
  async run(context) {
    const connections = context.settings.quick ? 2000 : 5000;
    const inspectPorts = { server: await findFreePort(), bare: await findFreePort() };
    const setup = await prepareWebSockets(context, MEMBERS, inspectPorts);
    const holder = BenchWorker.start(context.scope, 'load/ws-connection-holder', LOAD_CORE);
    const tokens = setup.members.map((member) => member.accessToken);
    const samples = await interleavedRounds(context, {
      switchboard: idleMemoryMeasurement(
        holder,
        {
          pid: setup.server.pid,
          inspectPort: inspectPorts.server,
          target: { url: webSocketUrl(setup.server.url), tokens, roomId: setup.roomId },
        },
        connections,
      ),
      baseline: idleMemoryMeasurement(
        holder,
        {
          pid: setup.bare.pid,
          inspectPort: inspectPorts.bare,
          target: { url: webSocketUrl(setup.bare.url), tokens, roomId: null },
        },
        connections,
      ),
    });
    return [
      figureOf({
        scenario: 'ws-idle-memory',
        id: 'ws-idle-heap-per-connection',
        title: 'idle WebSocket connection joined to a room: heap per connection',
        unit: 'B',
        better: 'lower',
        ...bothSides(samples, 'bare `ws`, connected'),
        target: TARGETS.idleHeapPerConnection,
        notes: [
          `${connections} connections over ${MEMBERS} users; heap used after a full GC (run through the inspector: the processes start with --inspect-port only, SIGUSR1 opens it when the heap is read), before and after opening them, divided by the connections`,
        ],
      }),
      figureOf({
        scenario: 'ws-idle-memory',
        id: 'rss-without-connections',
        title: 'process RSS with no connections',
        unit: 'MiB',
        better: 'lower',
        ...bothSides(samples, 'bare `ws`', 'rssWithoutConnectionsMiB'),
        notes: ['VmRSS from /proc/<pid>/status, read before the connections of each round'],
      }),
    ];
  },
};
