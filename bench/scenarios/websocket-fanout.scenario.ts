import { bothSides, Figure, figureOf, Sample } from '@bench/report/figure';
import { TARGETS } from '@bench/report/targets';
import { BenchWorker } from '@bench/support/bench-worker';
import { LOAD_CORE } from '@bench/support/cores';
import { openFilesHardLimit } from '@bench/support/file-limit';
import { FanoutSide, fanoutMeasurement, fanoutMessages } from './fanout-measurement';
import { interleavedRounds, Scenario, ScenarioContext } from './scenario';
import { prepareWebSockets, WebSocketSetup, webSocketUrl } from './websocket-setup';

const AUDIENCES = [5_000, 10_000];
const MEMBERS = 10;
/** Sockets a process needs besides the audience (listeners, database, logs, node itself). */
const FILE_HEADROOM = 500;

/** A side's audience (receivers) and its sender, all in one load-generator process. */
interface Audience extends FanoutSide {
  target: FanoutSide['target'] & { tokens: string[] };
}

async function grow(audience: Audience, total: number): Promise<void> {
  const opened = await audience.holder.request<{
    open: number;
    failed: number;
    firstError?: string;
  }>('open', { ...audience.target, total, concurrency: 20, seconds: 300 }, 600_000);
  if (opened.open < total) {
    throw new Error(`opened ${opened.open} of ${total} connections: ${opened.firstError}`);
  }
}

function fanoutFigures(
  size: number,
  samples: Record<'switchboard' | 'baseline', Sample[]>,
): Figure[] {
  const common = { scenario: 'ws-fanout', notes: [] as string[] };
  const sides = (detail?: string) => bothSides(samples, 'bare `ws`, pre-framed broadcast', detail);
  return [
    figureOf({
      ...common,
      id: `ws-fanout-${size}-rate`,
      title: `fan-out to ${size.toLocaleString('en-US')} members: deliveries/s`,
      unit: '/s',
      better: 'higher',
      ...sides(),
      target: TARGETS.fanoutDeliveriesPerSecond,
      notes: [
        'per message: members / (last receipt − send), median of the round; sender and receivers in one client process, one clock',
        'the client counts arrivals in the raw TCP bytes (no frame parsing) so that it is not the bottleneck; its own CPU % is in latest.json (clientCpuPercent)',
      ],
    }),
    figureOf({
      ...common,
      id: `ws-fanout-${size}-p99`,
      title: `fan-out to ${size.toLocaleString('en-US')} members: p99 send to last receipt`,
      unit: 'ms',
      better: 'lower',
      ...sides('lastReceiptP99Ms'),
    }),
    figureOf({
      ...common,
      id: `ws-fanout-${size}-cpu`,
      title: `fan-out to ${size.toLocaleString('en-US')} members: server CPU per delivery`,
      unit: 'µs',
      better: 'lower',
      ...sides('serverCpuMicrosPerDelivery'),
    }),
  ];
}

export const websocketFanout: Scenario = {
  name: 'ws-fanout',
  describe: `one message to ${AUDIENCES.join(' and ')} connections joined to one room, beside a bare ws broadcast of a pre-built frame`,
  async run(context: ScenarioContext) {
    const fileLimit = openFilesHardLimit();
    const sizes = AUDIENCES.filter((size) => size + FILE_HEADROOM <= fileLimit);
    if (sizes.length < AUDIENCES.length) {
      context.log(
        `  open-files hard limit ${fileLimit}: fan-out only to ${sizes.join(', ') || 'none'}`,
      );
    }
    const setup = await prepareWebSockets(context, MEMBERS);
    const audiences = {
      switchboard: audienceOf(context, setup, 'switchboard'),
      baseline: audienceOf(context, setup, 'baseline'),
    };
    const messages = fanoutMessages(context.settings);
    const figures: Figure[] = [];
    for (const size of sizes) {
      context.log(`  opening ${size} connections to each side`);
      await grow(audiences.switchboard, size);
      await grow(audiences.baseline, size);
      const samples = await interleavedRounds(context, {
        switchboard: fanoutMeasurement(audiences.switchboard, messages),
        baseline: fanoutMeasurement(audiences.baseline, messages),
      });
      figures.push(...fanoutFigures(size, samples));
    }
    return figures;
  },
};

/** Separate holder processes per side: each holds up to 10,000 sockets under the file limit. */
function audienceOf(
  context: ScenarioContext,
  setup: WebSocketSetup,
  side: 'switchboard' | 'baseline',
): Audience {
  const base = side === 'switchboard' ? setup.server.url : setup.bare.url;
  return {
    holder: BenchWorker.start(context.scope, 'load/ws-connection-holder', LOAD_CORE),
    target: {
      url: webSocketUrl(base),
      tokens: setup.members.map((member) => member.accessToken),
      roomId: side === 'switchboard' ? setup.roomId : null,
    },
    senderToken: setup.owner.accessToken,
    serverPid: side === 'switchboard' ? setup.server.pid : setup.bare.pid,
  };
}
