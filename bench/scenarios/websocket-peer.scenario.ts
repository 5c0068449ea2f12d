import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';
import type { HandshakeResult } from '@bench/load/ws-connections';
import { bothSides, Figure, figureOf, Sample } from '@bench/report/figure';
import { TARGETS } from '@bench/report/targets';
import type { SocketIoPeer } from '@bench/peers/socketio-server';
import { ApiClient } from '@bench/support/api-client';
import { createBenchRedisPrefix } from '@bench/support/bench-databases';
import { BenchWorker } from '@bench/support/bench-worker';
import { measureCpu } from '@bench/support/cpu-meter';
import { LOAD_CORE, SERVER_CORE } from '@bench/support/cores';
import { heapUsedAfterFullGc } from '@bench/support/inspector-heap';
import { findFreePort } from '@bench/support/network';
import { processTreeCpuSeconds, residentBytes } from '@bench/support/process-cpu';
import { SwitchboardServer } from '@bench/support/switchboard-server';
import { FanoutSide, fanoutMeasurement, fanoutMessages } from './fanout-measurement';
import { interleavedRounds, Measurement, Scenario, ScenarioContext } from './scenario';
import { webSocketUrl } from './websocket-setup';

const HANDSHAKES_PER_ROUND = 20_000;
const CONCURRENCY = 20;
const IDLE_USERS = 10;
/** Lets timers and the last joins' work finish before memory is read. */
const SETTLE_MS = 1000;

type Side = 'switchboard' | 'socketio' | 'switchboardRedis' | 'socketioRedis';

/** One server of the comparison, and how its clients reach it. */
interface PeerSide {
  pid: number;
  inspectPort: number;
  /** The handshake load worker that speaks its protocol. */
  client: BenchWorker;
  /**
   * Holds this side's idle connections, which stay open as the audience of its fan-out: one
   * process per side, as a holder keeps one audience.
   */
  holder: BenchWorker;
  /** What its workers' handshake, open and fanout commands take (the first token sends). */
  target: { url: string; roomId: string; tokens: string[] };
  kind: 'switchboard' | 'socketio';
}

/** The pid of the Redis server at `url` when it runs on this machine (its CPU is then readable). */
async function localRedisPid(url: string): Promise<number | null> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    const info = await redis.info('server');
    const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
    return pid > 0 && existsSync(`/proc/${pid}/stat`) ? pid : null;
  } finally {
    redis.disconnect();
  }
}

function handshakeMeasurement(side: PeerSide, redisPid: number | null): Measurement {
  return async (seconds): Promise<Sample> => {
    const redisBefore = redisPid ? processTreeCpuSeconds(redisPid) : 0;
    const load = {
      url: side.target.url,
      roomId: side.target.roomId,
      token: side.target.tokens[0],
      connections: HANDSHAKES_PER_ROUND,
      concurrency: CONCURRENCY,
      seconds,
    };
    const { result, cpu } = await measureCpu(side.pid, () =>
      side.kind === 'switchboard'
        ? side.client.request<HandshakeResult>('run', load)
        : side.client.request<HandshakeResult>('handshakes', load),
    );
    const completed = Math.max(result.completed, 1);
    const redisCpuMicros = redisPid
      ? ((processTreeCpuSeconds(redisPid) - redisBefore) * 1e6) / completed
      : Number.NaN;
    return {
      value: (cpu.serverCpuSeconds * 1e6) / completed,
      cpu,
      errors: result.failed,
      details: { connectionsPerSecond: result.completed / result.seconds, redisCpuMicros },
    };
  };
}

/**
 * Opens `connections` joined connections and reads the memory they take. The previous pass's are
 * closed first, not at its end, so that the last round's stay open for the fan-out.
 */
function idleMeasurement(side: PeerSide, connections: number): Measurement {
  return async (seconds): Promise<Sample> => {
    await side.holder.request('closeAll');
    await sleep(SETTLE_MS);
    const heapBefore = await heapUsedAfterFullGc(side.pid, side.inspectPort);
    const rssBefore = residentBytes(side.pid);
    const open = {
      ...side.target,
      token: side.target.tokens[0],
      total: connections,
      concurrency: 50,
      seconds: Math.max(seconds, 60),
    };
    const { result, cpu } = await measureCpu(side.pid, () =>
      side.holder.request<{ open: number; failed: number }>('open', open),
    );
    await sleep(SETTLE_MS);
    const heapAfter = await heapUsedAfterFullGc(side.pid, side.inspectPort);
    const rssAfter = residentBytes(side.pid);
    const opened = Math.max(result.open, 1);
    return {
      value: (heapAfter - heapBefore) / opened,
      cpu,
      errors: result.failed,
      details: { connections: result.open, rssPerConnection: (rssAfter - rssBefore) / opened },
    };
  };
}

/** The side's held connections as a fan-out's audience, fed by its server. */
function audienceOf(side: PeerSide): FanoutSide {
  return {
    holder: side.holder,
    target: side.target,
    senderToken: side.target.tokens[0],
    serverPid: side.pid,
  };
}

/** Switchboard on the server core, with REDIS_URL or without; a user per idle connection group. */
async function switchboardSide(
  context: ScenarioContext,
  client: BenchWorker,
  redisUrl: string | undefined,
): Promise<PeerSide> {
  const inspectPort = await findFreePort();
  const server = await SwitchboardServer.start(context.scope, {
    cores: SERVER_CORE,
    profile: context.settings.profile,
    nodeFlags: [`--inspect-port=${inspectPort}`],
    environment: redisUrl
      ? { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: createBenchRedisPrefix(context.scope, redisUrl) }
      : {},
  });
  const api = new ApiClient(server.url);
  const owner = await api.registerUser();
  const roomId = await api.createRoom(owner, 'bench peer');
  const tokens = [owner.accessToken];
  while (tokens.length < IDLE_USERS) {
    tokens.push((await api.registerUser()).accessToken);
  }
  return {
    pid: server.pid,
    inspectPort,
    client,
    holder: BenchWorker.start(context.scope, 'load/ws-connection-holder', LOAD_CORE),
    target: { url: webSocketUrl(server.url), roomId, tokens },
    kind: 'switchboard',
  };
}

/** The Socket.IO peer on the server core, with its Redis adapter or its in-memory one. */
async function socketIoSide(
  context: ScenarioContext,
  client: BenchWorker,
  redisUrl: string | undefined,
): Promise<PeerSide> {
  const inspectPort = await findFreePort();
  const peer = BenchWorker.start(context.scope, 'peers/socketio-server', SERVER_CORE, [
    `--inspect-port=${inspectPort}`,
  ]);
  const { port, token } = await peer.request<SocketIoPeer>('listen', {
    redisUrl,
    keyPrefix: redisUrl ? createBenchRedisPrefix(context.scope, redisUrl) : '',
  });
  return {
    pid: peer.pid,
    inspectPort,
    client,
    holder: BenchWorker.start(context.scope, 'load/socketio-clients', LOAD_CORE),
    target: { url: `http://127.0.0.1:${port}`, roomId: 'bench-peer-room', tokens: [token] },
    kind: 'socketio',
  };
}

const SOCKET_IO = 'Socket.IO 4.8, websocket transport, in-memory adapter';
const SOCKET_IO_REDIS = 'Socket.IO 4.8, websocket transport, `@socket.io/redis-adapter`';

/** Deliveries/s and server CPU per delivery of one pair: without Redis, or with it. */
function fanoutFigures(
  samples: Record<'switchboard' | 'baseline', Sample[]>,
  redis: boolean,
  members: number,
): Figure[] {
  const beside = `beside Socket.IO${redis ? ', with Redis' : ''}: fan-out to ${members.toLocaleString('en-US')} members`;
  const sides = (detail?: string) =>
    redis
      ? bothSides(samples, SOCKET_IO_REDIS, detail, 'Switchboard, REDIS_URL')
      : bothSides(samples, SOCKET_IO, detail);
  const suffix = redis ? '-redis' : '';
  return [
    figureOf({
      scenario: 'ws-peer',
      id: `peer-fanout-rate${suffix}`,
      title: `${beside}, deliveries/s`,
      unit: '/s',
      better: 'higher',
      ...sides(),
      notes: [
        `the ${members} connections the idle part opened last, all joined to one room; a member sends one message at a time (\`send\` for Switchboard, \`emit('send')\` and \`io.to(room).emit\` for Socket.IO): per message, members / (last receipt − send), median of the round; p99 send to last receipt in latest.json (lastReceiptP99Ms)`,
        'both clients count arrivals in the raw TCP bytes under `ws` (under engine.io-client for Socket.IO), as in ws-fanout; missing deliveries are errors',
      ],
    }),
    figureOf({
      scenario: 'ws-peer',
      id: `peer-fanout-cpu${suffix}`,
      title: `${beside}, server CPU per delivery`,
      unit: 'µs',
      better: 'lower',
      ...sides('serverCpuMicrosPerDelivery'),
      notes: ['server CPU from /proc/<pid>/stat over the round, divided by the deliveries'],
    }),
  ];
}

export const websocketPeer: Scenario = {
  name: 'ws-peer',
  describe:
    'Socket.IO 4.8 (websocket transport; in-memory and Redis adapter) beside Switchboard without and with REDIS_URL: handshake + join server CPU and Redis CPU, idle heap and RSS per joined connection, fan-out deliveries/s and server CPU per delivery',
  needs: ['redisUrl'],
  async run(context) {
    const { redisUrl = '' } = context.services;
    const wsClient = BenchWorker.start(context.scope, 'load/ws-handshakes', LOAD_CORE);
    const ioClient = BenchWorker.start(context.scope, 'load/socketio-clients', LOAD_CORE);
    const sides: Record<Side, PeerSide> = {
      switchboard: await switchboardSide(context, wsClient, undefined),
      socketio: await socketIoSide(context, ioClient, undefined),
      switchboardRedis: await switchboardSide(context, wsClient, redisUrl),
      socketioRedis: await socketIoSide(context, ioClient, redisUrl),
    };
    const redisPid = await localRedisPid(redisUrl);
    const handshakes = await interleavedRounds(context, {
      switchboard: handshakeMeasurement(sides.switchboard, null),
      socketio: handshakeMeasurement(sides.socketio, null),
      switchboardRedis: handshakeMeasurement(sides.switchboardRedis, redisPid),
      socketioRedis: handshakeMeasurement(sides.socketioRedis, redisPid),
    });
    const connections = context.settings.quick ? 2000 : 5000;
    const idle = await interleavedRounds(context, {
      switchboard: idleMeasurement(sides.switchboard, connections),
      socketio: idleMeasurement(sides.socketio, connections),
      switchboardRedis: idleMeasurement(sides.switchboardRedis, connections),
      socketioRedis: idleMeasurement(sides.socketioRedis, connections),
    });
    const messages = fanoutMessages(context.settings);
    const fanout = await interleavedRounds(context, {
      switchboard: fanoutMeasurement(audienceOf(sides.switchboard), messages),
      socketio: fanoutMeasurement(audienceOf(sides.socketio), messages),
      switchboardRedis: fanoutMeasurement(audienceOf(sides.switchboardRedis), messages),
      socketioRedis: fanoutMeasurement(audienceOf(sides.socketioRedis), messages),
    });
    const pair = (samples: Record<Side, Sample[]>, redis: boolean) => ({
      switchboard: redis ? samples.switchboardRedis : samples.switchboard,
      baseline: redis ? samples.socketioRedis : samples.socketio,
    });
    const handshakeNote = `${CONCURRENCY} connections at a time: upgrade (token in the Authorization header for Switchboard, in the handshake's auth for Socket.IO), join acknowledged, close; server CPU from /proc/<pid>/stat over the round`;
    const idleNote = `${connections} joined connections; heap used after a full GC (inspector) and VmRSS, before and after opening them, divided by the connections`;
    return [
      figureOf({
        scenario: 'ws-peer',
        id: 'peer-handshake-cpu',
        title: 'beside Socket.IO: handshake + `join` + close, server CPU per connection',
        unit: 'µs',
        better: 'lower',
        ...bothSides(pair(handshakes, false), SOCKET_IO),
        notes: [handshakeNote],
      }),
      figureOf({
        scenario: 'ws-peer',
        id: 'peer-handshake-cpu-redis',
        title:
          'beside Socket.IO, with Redis: handshake + `join` + close, server CPU per connection',
        unit: 'µs',
        better: 'lower',
        ...bothSides(pair(handshakes, true), SOCKET_IO_REDIS, undefined, 'Switchboard, REDIS_URL'),
        target: TARGETS.handshakeWithRedisBesideSocketIo,
        notes: [handshakeNote],
      }),
      figureOf({
        scenario: 'ws-peer',
        id: 'peer-handshake-redis-cpu',
        title: 'beside Socket.IO, with Redis: Redis CPU per connection (handshake + `join`)',
        unit: 'µs',
        better: 'lower',
        ...bothSides(
          pair(handshakes, true),
          SOCKET_IO_REDIS,
          'redisCpuMicros',
          'Switchboard, REDIS_URL',
        ),
        notes: [
          "the Redis server's CPU from /proc/<pid>/stat over the round (the bench's Redis on this machine, shared with nothing else during the run)",
        ],
      }),
      figureOf({
        scenario: 'ws-peer',
        id: 'peer-idle-heap',
        title: 'beside Socket.IO, with Redis: idle joined connection, heap per connection',
        unit: 'B',
        better: 'lower',
        ...bothSides(pair(idle, true), SOCKET_IO_REDIS, undefined, 'Switchboard, REDIS_URL'),
        notes: [idleNote],
      }),
      figureOf({
        scenario: 'ws-peer',
        id: 'peer-idle-rss',
        title: 'beside Socket.IO, with Redis: idle joined connection, RSS per connection',
        unit: 'B',
        better: 'lower',
        ...bothSides(
          pair(idle, true),
          SOCKET_IO_REDIS,
          'rssPerConnection',
          'Switchboard, REDIS_URL',
        ),
        target: TARGETS.idleRssWithRedisBesideSocketIo,
        notes: [idleNote],
      }),
      figureOf({
        scenario: 'ws-peer',
        id: 'peer-idle-rss-memory',
        title: 'beside Socket.IO: idle joined connection, RSS per connection',
        unit: 'B',
        better: 'lower',
        ...bothSides(pair(idle, false), SOCKET_IO, 'rssPerConnection'),
        notes: [idleNote],
      }),
      ...fanoutFigures(pair(fanout, false), false, connections),
      ...fanoutFigures(pair(fanout, true), true, connections),
    ];
  },
};
