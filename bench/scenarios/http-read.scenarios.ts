import { bothSides, figureOf, Sample } from '@bench/report/figure';
import { Target, TARGETS } from '@bench/report/targets';
import { ApiClient, BenchUser } from '@bench/support/api-client';
import { LOAD_CORE, SERVER_CORE } from '@bench/support/cores';
import { SwitchboardServer } from '@bench/support/switchboard-server';
import { startBareFastify, startBareHistoryRead } from './baseline-processes';
import { interleavedRounds, Scenario, ScenarioContext } from './scenario';
import { wrkMeasurement } from './wrk-measurement';

/** Messages in the room whose history page is read. */
const HISTORY_MESSAGES = 50;
/** wrk: one thread (one core), enough connections to keep one server core busy. */
const READ_CONNECTIONS = 50;

/** The request a read scenario measures, made ready on a fresh server. */
export interface ReadRequest {
  path: string;
  user?: BenchUser;
}

interface ReadScenarioSpec {
  name: string;
  title: string;
  describe: string;
  /** PRODUCT.md's, where it sets one. */
  target?: Target;
  /** How the baseline answers: the stored bytes of a cache hit, or serialized each time. */
  baseline: BaselineAnswer;
  /** Server variables for this scenario (e.g. CACHE_TTL_MS=0). */
  environment?: Record<string, string>;
  prepare(api: ApiClient): Promise<ReadRequest>;
  /** Checks the server answers as the scenario assumes (e.g. from its cache); a note or throws. */
  verify?(api: ApiClient, request: ReadRequest): Promise<string>;
}

/** The rooms history read of the cached and uncached scenarios: one user, one room, 50 messages. */
export async function roomHistoryRead(api: ApiClient): Promise<ReadRequest> {
  const user = await api.registerUser();
  const roomId = await api.createRoom(user, 'bench history');
  for (let index = 1; index <= HISTORY_MESSAGES; index++) {
    await api.postMessage(user, roomId, `history message ${index}`);
  }
  return { path: `/api/rooms/${roomId}/messages?limit=${HISTORY_MESSAGES}`, user };
}

export async function xCacheOf(api: ApiClient, request: ReadRequest): Promise<string | null> {
  const response = await api.call('GET', request.path, {
    token: request.user?.accessToken,
    expect: 200,
  });
  return response.headers.get('x-cache');
}

/**
 * How bare Fastify answers: `stored` sends the bytes serialized once (what a cache hit does, the
 * fair baseline for one), `serialized` serializes on each request with a response schema,
 * `queried` also runs Switchboard's query on the server's own SQLite file for each request.
 */
export type BaselineAnswer = 'stored' | 'serialized' | 'queried';

const BASELINE_LABELS: Record<BaselineAnswer, string> = {
  stored: 'bare Fastify sending the same stored bytes',
  serialized: 'bare Fastify, response schema, same bytes',
  queried: 'bare Fastify + better-sqlite3, same query, same bytes (response schema)',
};

/** The baseline must answer what Switchboard answered, byte for byte, or the ratio means nothing. */
async function expectSameBytes(baseUrl: string, path: string, expected: string): Promise<void> {
  const response = await fetch(`${baseUrl}${path}`);
  const text = await response.text();
  if (response.status !== 200 || text !== expected) {
    throw new Error(
      `the baseline answered ${path} with ${response.status} and other bytes than Switchboard: ${text.slice(0, 200)}`,
    );
  }
}

/** Fills the cache with the answer and checks that the next request is a hit. */
async function verifyCacheHit(api: ApiClient, request: ReadRequest): Promise<string> {
  await xCacheOf(api, request);
  const answered = await xCacheOf(api, request);
  if (answered !== 'HIT') {
    throw new Error(`expected X-Cache: HIT before measuring, got ${answered}`);
  }
  return 'X-Cache: HIT checked before measuring';
}

/** Where the two sides of a read run, and how wrk loads them. */
export interface ReadPlacement {
  cores: string;
  loadCores: string;
  /** Bare Fastify's processes: 1, or as many as the Switchboard cluster's workers. */
  workers: number;
  connections: number;
  threads: number;
  answer: BaselineAnswer;
}

/**
 * Measures `request` on Switchboard and on bare Fastify answering the same bytes (taken from
 * Switchboard's answer), with wrk, round by round.
 */
export async function readBesideBareFastify(
  context: ScenarioContext,
  server: SwitchboardServer,
  request: ReadRequest,
  placement: ReadPlacement,
): Promise<Record<'switchboard' | 'baseline', Sample[]>> {
  const answer = await new ApiClient(server.url).call('GET', request.path, {
    token: request.user?.accessToken,
    expect: 200,
  });
  const sample: unknown = JSON.parse(answer.text);
  const baseline =
    placement.answer === 'queried'
      ? await startBareHistoryRead(context.scope, server.sqlitePath, sample, placement.cores)
      : await startBareFastify(
          context.scope,
          [{ url: request.path, body: sample, stored: placement.answer === 'stored' }],
          placement.cores,
          placement.workers,
        );
  await expectSameBytes(baseline.url, request.path, answer.text);
  const load = {
    method: 'GET' as const,
    paths: [request.path],
    token: request.user?.accessToken,
    connections: placement.connections,
    threads: placement.threads,
    cores: placement.loadCores,
  };
  return interleavedRounds(context, {
    switchboard: wrkMeasurement(context, server.pid, { ...load, baseUrl: server.url }),
    baseline: wrkMeasurement(context, baseline.pid, { ...load, baseUrl: baseline.url }),
  });
}

/**
 * A GET scenario: Switchboard on one core against bare Fastify answering the same bytes, both
 * loaded by wrk on the other core, round by round.
 */
function readScenario(spec: ReadScenarioSpec): Scenario {
  return {
    name: spec.name,
    describe: spec.describe,
    async run(context: ScenarioContext) {
      const server = await SwitchboardServer.start(context.scope, {
        cores: SERVER_CORE,
        environment: spec.environment,
        profile: context.settings.profile,
      });
      const api = new ApiClient(server.url);
      const request = await spec.prepare(api);
      const notes = spec.verify ? [await spec.verify(api, request)] : [];
      const samples = await readBesideBareFastify(context, server, request, {
        cores: SERVER_CORE,
        loadCores: LOAD_CORE,
        workers: 1,
        connections: READ_CONNECTIONS,
        threads: 1,
        answer: spec.baseline,
      });
      return [
        figureOf({
          scenario: spec.name,
          id: spec.name,
          title: spec.title,
          unit: 'req/s',
          better: 'higher',
          ...bothSides(samples, BASELINE_LABELS[spec.baseline]),
          target: spec.target,
          notes,
        }),
      ];
    },
  };
}

export const HTTP_READ_SCENARIOS: Scenario[] = [
  readScenario({
    name: 'health',
    title: '`GET /health`',
    describe: 'GET /health, no authentication',
    target: TARGETS.health,
    baseline: 'serialized',
    prepare: () => Promise.resolve({ path: '/health' }),
  }),
  readScenario({
    name: 'cached-read',
    title: 'authenticated `GET /api/rooms/:id/messages`, cache hit',
    describe: `a room's history page (${HISTORY_MESSAGES} messages) answered from the in-process cache`,
    target: TARGETS.cachedRead,
    baseline: 'stored',
    prepare: roomHistoryRead,
    verify: verifyCacheHit,
  }),
  readScenario({
    name: 'uncached-read',
    title: 'authenticated `GET /api/rooms/:id/messages`, uncached (`CACHE_TTL_MS=0`)',
    describe: 'the same history page with the response cache off: one indexed query each',
    target: TARGETS.uncachedRead,
    baseline: 'queried',
    environment: { CACHE_TTL_MS: '0' },
    prepare: roomHistoryRead,
    async verify(api, request) {
      const answered = await xCacheOf(api, request);
      if (answered === 'HIT') {
        throw new Error('CACHE_TTL_MS=0 but the read was answered from the cache');
      }
      return `X-Cache: ${answered ?? '(none)'} checked before measuring`;
    },
  }),
  readScenario({
    name: 'users-me',
    title: '`GET /api/users/me`, cache hit',
    describe: "the caller's own profile, cached per caller",
    target: TARGETS.usersMe,
    baseline: 'stored',
    prepare: async (api) => {
      const user = await api.registerUser();
      return { path: '/api/users/me', user };
    },
    verify: verifyCacheHit,
  }),
];
