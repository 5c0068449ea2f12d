import type { InsertLoad, InsertLoopResult } from '@bench/baselines/message-insert-statements';
import { figureOf, Sample, samplesOfDetail } from '@bench/report/figure';
import { TARGETS } from '@bench/report/targets';
import { ApiClient, BenchUser } from '@bench/support/api-client';
import { createBenchDatabase } from '@bench/support/bench-databases';
import { BenchWorker } from '@bench/support/bench-worker';
import { measureCpu } from '@bench/support/cpu-meter';
import { LOAD_CORE, SERVER_CORE } from '@bench/support/cores';
import { SwitchboardServer } from '@bench/support/switchboard-server';
import { interleavedRounds, Measurement, Scenario, ScenarioContext } from './scenario';
import { wrkMeasurement } from './wrk-measurement';

const ROOMS = 10;

/** A server with one user who owns (and so is a member of) ten public rooms. */
interface WriteSetup {
  server: SwitchboardServer;
  sender: BenchUser;
  roomIds: string[];
}

async function prepareWrites(context: ScenarioContext, databaseUrl?: string): Promise<WriteSetup> {
  const server = await SwitchboardServer.start(context.scope, {
    cores: SERVER_CORE,
    environment: databaseUrl ? { DATABASE_URL: databaseUrl } : {},
    profile: context.settings.profile,
  });
  const api = new ApiClient(server.url);
  const sender = await api.registerUser();
  const roomIds: string[] = [];
  for (let index = 0; index < ROOMS; index++) {
    roomIds.push(await api.createRoom(sender, `bench writes ${index}`));
  }
  return { server, sender, roomIds };
}

/** wrk posting with a unique clientMsgId per request over `rooms` rooms, `connections` at once. */
function postMeasurement(
  context: ScenarioContext,
  setup: WriteSetup,
  connections: number,
  rooms: number,
): Measurement {
  return wrkMeasurement(context, setup.server.pid, {
    baseUrl: setup.server.url,
    method: 'POST',
    paths: setup.roomIds.slice(0, rooms).map((roomId) => `/api/rooms/${roomId}/messages`),
    token: setup.sender.accessToken,
    connections,
    threads: 1,
    cores: LOAD_CORE,
  });
}

/** One run of a bare insert loop (a worker on the server core, the server idle meanwhile). */
function insertLoopMeasurement(
  worker: BenchWorker,
  load: Omit<InsertLoad, 'seconds'>,
): Measurement {
  return async (seconds): Promise<Sample> => {
    const { result, cpu } = await measureCpu(worker.pid, () =>
      worker.request<InsertLoopResult>('run', { ...load, seconds }),
    );
    return {
      value: result.messages / result.seconds,
      cpu,
      errors: 0,
      details: {
        latencyP50Ms: result.transactionP50Ms,
        serverCpuMicrosPerRequest: (cpu.serverCpuSeconds * 1e6) / result.messages,
      },
    };
  };
}

const SQLITE_ONE_PER_TRANSACTION = 'better-sqlite3, same 5 statements, 1 message per transaction';
const SQLITE_GROUP_COMMIT = 'better-sqlite3, same 5 statements, 100 per transaction, 10 rooms';

const sqlitePosts: Scenario = {
  name: 'sqlite-posts',
  describe:
    'POST /api/rooms/:id/messages on SQLite (synchronous=FULL, WAL) with 1, 10, 100 connections and 100 over 10 rooms, beside bare better-sqlite3 loops',
  async run(context) {
    const setup = await prepareWrites(context);
    const loop = BenchWorker.start(context.scope, 'baselines/bare-sqlite-inserts', SERVER_CORE);
    await loop.request('open', { path: setup.server.sqlitePath });
    const samples = await interleavedRounds(context, {
      oneConnection: postMeasurement(context, setup, 1, 1),
      tenConnections: postMeasurement(context, setup, 10, 1),
      hundredConnections: postMeasurement(context, setup, 100, 1),
      hundredOverTenRooms: postMeasurement(context, setup, 100, ROOMS),
      bareOnePerTransaction: insertLoopMeasurement(loop, {
        roomIds: setup.roomIds.slice(0, 1),
        senderId: setup.sender.id,
        perTransaction: 1,
      }),
      bareGroupCommit: insertLoopMeasurement(loop, {
        roomIds: setup.roomIds,
        senderId: setup.sender.id,
        perTransaction: 100,
      }),
    });
    const common = { scenario: 'sqlite-posts', unit: 'msg/s', better: 'higher' as const };
    const perTransaction = {
      title: SQLITE_ONE_PER_TRANSACTION,
      samples: samples.bareOnePerTransaction,
    };
    return [
      figureOf({
        ...common,
        id: 'sqlite-posts-1-latency',
        title: 'SQLite post, 1 connection: p50 latency',
        unit: 'ms',
        better: 'lower',
        switchboard: {
          title: 'Switchboard',
          samples: samplesOfDetail(samples.oneConnection, 'latencyP50Ms'),
        },
        baseline: {
          title: `${SQLITE_ONE_PER_TRANSACTION}: p50 per transaction`,
          samples: samplesOfDetail(samples.bareOnePerTransaction, 'latencyP50Ms'),
        },
      }),
      figureOf({
        ...common,
        id: 'sqlite-posts-1',
        title: 'SQLite posts, 1 connection',
        switchboard: { title: 'Switchboard', samples: samples.oneConnection },
        baseline: perTransaction,
      }),
      figureOf({
        ...common,
        id: 'sqlite-posts-10',
        title: 'SQLite posts, 10 connections, one room',
        switchboard: { title: 'Switchboard', samples: samples.tenConnections },
        baseline: perTransaction,
      }),
      figureOf({
        ...common,
        id: 'sqlite-posts-100',
        title: 'SQLite posts, 100 connections, one room',
        switchboard: { title: 'Switchboard', samples: samples.hundredConnections },
        baseline: perTransaction,
      }),
      figureOf({
        ...common,
        id: 'sqlite-posts-100-rooms-10',
        title: 'SQLite posts, 100 connections over 10 rooms',
        switchboard: { title: 'Switchboard', samples: samples.hundredOverTenRooms },
        baseline: { title: SQLITE_GROUP_COMMIT, samples: samples.bareGroupCommit },
        target: TARGETS.sqlitePostsGroupCommit,
      }),
    ];
  },
};

const POSTGRES_LOOP = '`pg`, one loop, same transaction per message';

const postgresPosts: Scenario = {
  name: 'postgres-posts',
  describe:
    'POST /api/rooms/:id/messages on PostgreSQL, 100 connections to one room and over 10 rooms, beside a bare pg loop',
  needs: ['postgresAdminUrl'],
  async run(context) {
    const databaseUrl = await createBenchDatabase(
      context.scope,
      context.services.postgresAdminUrl ?? '',
    );
    const setup = await prepareWrites(context, databaseUrl);
    const loop = BenchWorker.start(context.scope, 'baselines/bare-postgres-inserts', SERVER_CORE);
    await loop.request('open', { connectionString: databaseUrl });
    context.scope.add(() => loop.request('close'));
    const samples = await interleavedRounds(context, {
      oneRoom: postMeasurement(context, setup, 100, 1),
      tenRooms: postMeasurement(context, setup, 100, ROOMS),
      bareOneRoom: insertLoopMeasurement(loop, {
        roomIds: setup.roomIds.slice(0, 1),
        senderId: setup.sender.id,
      }),
      bareTenRooms: insertLoopMeasurement(loop, {
        roomIds: setup.roomIds,
        senderId: setup.sender.id,
      }),
    });
    const notes = [
      'PostgreSQL runs on this machine unpinned: its CPU is in neither process figure but shows in the core figures',
    ];
    const common = { scenario: 'postgres-posts', unit: 'msg/s', better: 'higher' as const, notes };
    return [
      figureOf({
        ...common,
        id: 'postgres-posts-100',
        title: 'PostgreSQL posts, 100 connections, one room',
        switchboard: { title: 'Switchboard', samples: samples.oneRoom },
        baseline: { title: `${POSTGRES_LOOP}, one room`, samples: samples.bareOneRoom },
        target: TARGETS.postgresPosts,
      }),
      figureOf({
        ...common,
        id: 'postgres-posts-100-rooms-10',
        title: 'PostgreSQL posts, 100 connections over 10 rooms',
        switchboard: { title: 'Switchboard', samples: samples.tenRooms },
        baseline: { title: `${POSTGRES_LOOP}, 10 rooms in turn`, samples: samples.bareTenRooms },
        target: TARGETS.postgresPosts,
        notes: [],
      }),
    ];
  },
};

export const MESSAGE_POST_SCENARIOS: Scenario[] = [sqlitePosts, postgresPosts];
