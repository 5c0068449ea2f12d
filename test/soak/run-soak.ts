import { gitCommit } from '@test/support/git-commit';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { get } from 'node:http';
import { dirname, join, relative, resolve } from 'node:path';
import Redis from 'ioredis';
import { BenchWorker } from '@bench/support/bench-worker';
import { ALL_CORES } from '@bench/support/cores';
import { heapUsedAfterFullGc } from '@bench/support/inspector-heap';
import { COMPILED_BENCH } from '@bench/support/paths';
import { residentBytes } from '@bench/support/process-cpu';
import { closeAllScopes, ResourceScope } from '@bench/support/resource-scope';
import { LatencyHistogram } from '@test/scale/latency-histogram';
import { seedScale } from '@test/scale/scale-seed';
import { findFreePort } from '@test/support/network';
import { parsePrometheusText, sumOf } from '@test/support/prometheus-text';
import { RedisServerProcess } from '@test/support/redis-server-process';
import { createServerSetup, ServerProcess } from '@test/support/server-process';
import { useTestPostgresServer } from '@test/support/test-database';
import { sleep } from '@test/support/wait-until';
import { FullGcSnapshot, InstanceSample, leftBehind, SamplePhase, SoakSample } from './soak-checks';
import type { LoadStart, LoadWindow } from './soak-load';
import { parseSoakOptions, SOAK_USAGE, SoakOptions, warmUpSeconds } from './soak-options';
import { SoakResult, writeSoakResult } from './soak-report';

// Compiled to dist/test/soak: the repository is three folders up.
const REPOSITORY_ROOT = resolve(__dirname, '..', '..', '..');
const DEFAULT_OUTPUT = join(REPOSITORY_ROOT, 'test', 'soak', 'results', 'latest.md');
const LOAD_SCRIPT = relative(COMPILED_BENCH, join(__dirname, 'soak-load'));
const INSTANCES = 2;
/** Idle database connections close after pg's idle timeout (10 s): the start sample waits it out. */
const QUIET_BEFORE_START_MS = 12_000;
/** After the load: how long the instances get to let go of everything, and how often they are looked at. */
const SETTLE_MAX_MS = 60_000;
const SETTLE_POLL_MS = 2000;
/**
 * The settling ends early only once the fds are this close to the start; otherwise it waits its
 * 60 s (pg closes a pool connection after 10 s idle) and the check allows `--fd-tolerance`.
 */
const SETTLED_FD_SLACK = 2;
/** Set-up (build excluded), the stop and the settling, on top of the run itself. */
const OVERHEAD_SECONDS = 240;
const SCRAPE_TIMEOUT_MS = 5000;

const log = (line: string) => process.stdout.write(`soak: ${line}\n`);

interface Fleet {
  servers: ServerProcess[];
  load: BenchWorker;
  redis: Redis;
  plan: LoadStart;
  /** Each instance's inspector port (opened by the first full collection, SIGUSR1). */
  inspectPorts: number[];
}

async function runSoak(options: SoakOptions, scope: ResourceScope, result: SoakResult) {
  const fleet = await startFleet(options, scope, result);
  try {
    await measure(options, fleet, result);
  } finally {
    // The servers' own account (warn and up), for what the figures do not explain.
    result.serverLogTails = fleet.servers.map((server) => server.output.slice(-8000));
  }
}

async function measure(options: SoakOptions, fleet: Fleet, result: SoakResult) {
  const sample = async (phase: SamplePhase, at: number, window?: LoadWindow) => {
    const one = await takeSample(fleet, phase, at, window, options.sampleSeconds);
    result.samples.push(one);
    return one;
  };

  await sleep(QUIET_BEFORE_START_MS);
  // The first collection opens each inspector: its listening socket is in the start's fds.
  result.fullGc.start = await fullGcSnapshot(fleet, 0);
  const start = await sample('start', 0);
  log(
    `start: ${start.instances.map((instance, index) => `instance ${index} heap ${mb(instance.heapUsedBytes)} MB, RSS ${mb(instance.rssBytes)} MB, ${instance.openFds} fds, registries ${JSON.stringify(instance.registries)}`).join('; ')}`,
  );

  // The load's connections open after the start sample: nothing of theirs is in it.
  await fleet.load.request('start', fleet.plan, 60_000);
  const warmUp = warmUpSeconds(options);
  const seconds = options.minutes * 60;
  const startedAt = performance.now();
  const elapsed = () => (performance.now() - startedAt) / 1000;
  await fleet.load.request('window');
  for (let tick = 1; tick * options.sampleSeconds <= seconds + 1e-6; tick++) {
    await sleep(Math.max(0, tick * options.sampleSeconds * 1000 - (performance.now() - startedAt)));
    const window = await fleet.load.request<LoadWindow>('window');
    const one = await sample(elapsed() < warmUp ? 'warm-up' : 'load', elapsed(), window);
    if (!result.fullGc.afterWarmUp && elapsed() >= warmUp) {
      result.fullGc.afterWarmUp = await fullGcSnapshot(fleet, elapsed());
    }
    if (tick % 6 === 0 || tick === 1) {
      log(
        `${(elapsed() / 60).toFixed(1)} min: heap ${one.instances.map((instance) => mb(instance.heapUsedBytes)).join('/')} MB, RSS ${one.instances.map((instance) => mb(instance.rssBytes)).join('/')} MB, fds ${one.instances.map((instance) => instance.openFds).join('/')}, ${one.opsPerSecond.toFixed(0)} ops/s, p99 HTTP ${one.httpP99Ms} ms WS ${one.wsAckP99Ms} ms, errors ${one.errors}`,
      );
    }
  }
  result.loadSeconds = elapsed();
  // Still under load, as at the end of the warm-up: the two are compared.
  result.fullGc.end = await fullGcSnapshot(fleet, elapsed());

  log('stopping the load and closing every connection');
  const totals = await fleet.load.request<LoadWindow>('stop', {}, 60_000);
  result.load = summarizeLoad(totals, result.loadSeconds);

  // Settled once every instance is back to its start (bounded); the last look is what is judged.
  const settleStarted = performance.now();
  let settled: SoakSample;
  for (;;) {
    await sleep(SETTLE_POLL_MS);
    settled = await takeSample(fleet, 'settled', elapsed(), undefined, options.sampleSeconds);
    const clean = settled.instances.every(
      (instance, index) => leftBehind(start.instances[index], instance, SETTLED_FD_SLACK).clean,
    );
    if (clean || performance.now() - settleStarted > SETTLE_MAX_MS) {
      break;
    }
  }
  result.samples.push(settled);
  result.settleSeconds = (performance.now() - settleStarted) / 1000;
  log(`settled after ${result.settleSeconds.toFixed(0)} s`);
}

async function startFleet(
  options: SoakOptions,
  scope: ResourceScope,
  result: SoakResult,
): Promise<Fleet> {
  useTestPostgresServer();
  let redisUrl = options.redisUrl;
  const redisEnvironment: Record<string, string> = {};
  if (redisUrl) {
    redisEnvironment.REDIS_KEY_PREFIX = `switchboard-soak-${randomBytes(4).toString('hex')}:`;
  } else {
    const redisServer = await RedisServerProcess.start();
    scope.add(() => redisServer.stop());
    redisUrl = redisServer.url;
  }
  result.redis = options.redisUrl ? 'shared (own key prefix)' : 'own redis-server';
  // warn: what goes wrong is in the log, kept for the end of the run.
  const setup = await createServerSetup({
    REDIS_URL: redisUrl,
    ...redisEnvironment,
    LOG_LEVEL: 'warn',
  });
  scope.add(() => setup.remove());
  const servers: ServerProcess[] = [];
  scope.add(async () => {
    await Promise.all(servers.map((server) => server.stop()));
  });
  const inspectPorts: number[] = [];
  for (let instance = 0; instance < INSTANCES; instance++) {
    inspectPorts.push(await findFreePort());
    // One after the other: both would run the migrations at once. --inspect-port opens nothing
    // until SIGUSR1 (see heapUsedAfterFullGc).
    servers.push(
      await ServerProcess.start(setup.environment, {
        nodeArguments: [`--inspect-port=127.0.0.1:${inspectPorts[instance]}`],
      }),
    );
  }
  const everyRoom = Array.from({ length: options.rooms }, (_, room) => room);
  const seed = await seedScale(
    servers[0],
    setup.environment.DATABASE_URL ?? '',
    setup.environment.JWT_SECRET,
    { users: options.users, rooms: options.rooms, posters: servers.map(() => 0) },
    Array.from({ length: options.users }, () => everyRoom),
  );
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  scope.add(() => void redis.disconnect());
  const load = BenchWorker.start(scope, LOAD_SCRIPT, ALL_CORES);
  scope.add(async () => {
    await load.request('stop', {}, 30_000).catch(() => undefined);
  });
  const plan: LoadStart = {
    urls: servers.map((server) => server.url),
    roomIds: seed.roomIds,
    tokens: seed.userTokens,
    userIds: seed.userTokens.map(subjectOf),
    rates: options.rates,
  };
  return { servers, load, redis, plan, inspectPorts };
}

/** A full collection in every instance (through its inspector), then its heap and RSS. */
async function fullGcSnapshot(fleet: Fleet, at: number): Promise<FullGcSnapshot> {
  const instances = await Promise.all(
    fleet.servers.map(async (server, index) => {
      const pid = server.pid ?? 0;
      const heapUsedBytes = await heapUsedAfterFullGc(pid, fleet.inspectPorts[index]);
      return { heapUsedBytes, rssBytes: residentBytes(pid) };
    }),
  );
  log(
    `full GC at ${at.toFixed(0)} s: ${instances.map((one, index) => `instance ${index} heap ${mb(one.heapUsedBytes)} MB, RSS ${mb(one.rssBytes)} MB`).join('; ')}`,
  );
  return { at, instances };
}

async function takeSample(
  fleet: Fleet,
  phase: SamplePhase,
  at: number,
  window: LoadWindow | undefined,
  seconds: number,
): Promise<SoakSample> {
  const instances = await Promise.all(fleet.servers.map(sampleInstance));
  const http = new LatencyHistogram();
  const wsAck = new LatencyHistogram();
  http.addPairs(window?.http ?? []);
  wsAck.addPairs(window?.wsAck ?? []);
  const info = await fleet.redis.info('memory');
  return {
    at,
    phase,
    instances,
    httpP99Ms: http.percentile(99),
    wsAckP99Ms: wsAck.percentile(99),
    opsPerSecond: window
      ? Object.values(window.done).reduce((sum, count) => sum + (count ?? 0), 0) / seconds
      : 0,
    errors: window ? Object.values(window.errors).reduce((sum, count) => sum + count, 0) : 0,
    redisUsedMemoryBytes: Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? Number.NaN),
  };
}

/** Open fds first (the scrape's own connection is not open yet), then /metrics. */
async function sampleInstance(server: ServerProcess): Promise<InstanceSample> {
  const pid = server.pid ?? 0;
  const openFds = readdirSync(`/proc/${pid}/fd`).length;
  const rssBytes = residentBytes(pid);
  const samples = parsePrometheusText(await scrape(`${server.url}/metrics`));
  const registries: Record<string, number> = {
    connections: sumOf(samples, 'switchboard_ws_connections'),
  };
  for (const sample of samples) {
    if (sample.name === 'switchboard_ws_rooms_live') {
      registries.rooms_live = sample.value;
    } else if (sample.name === 'switchboard_ws_registry_entries') {
      registries[sample.labels.registry ?? '?'] = sample.value;
    }
  }
  return {
    heapUsedBytes: sumOf(samples, 'nodejs_heap_size_used_bytes'),
    rssBytes,
    openFds,
    eventLoopP99Ms: 1000 * sumOf(samples, 'nodejs_eventloop_lag_p99_seconds'),
    registries,
  };
}

/** A GET on a connection of its own (Connection: close), so no scrape holds a socket open in between. */
function scrape(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = get(url, { agent: false, timeout: SCRAPE_TIMEOUT_MS }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.once('end', () =>
        response.statusCode === 200
          ? resolve(text)
          : reject(new Error(`${url}: ${response.statusCode}`)),
      );
    });
    request.once('timeout', () => request.destroy(new Error(`${url}: timed out`)));
    request.once('error', reject);
  });
}

function summarizeLoad(totals: LoadWindow, seconds: number): SoakResult['load'] {
  const http = new LatencyHistogram();
  const wsAck = new LatencyHistogram();
  http.addPairs(totals.http);
  wsAck.addPairs(totals.wsAck);
  return {
    done: totals.done,
    skipped: totals.skipped,
    perSecond: Object.fromEntries(
      Object.entries(totals.done).map(([kind, count]) => [kind, (count ?? 0) / seconds]),
    ),
    httpMs: { p50: http.percentile(50), p99: http.percentile(99), max: http.percentile(100) },
    wsAckMs: { p50: wsAck.percentile(50), p99: wsAck.percentile(99), max: wsAck.percentile(100) },
    cache: totals.cache,
    errors: totals.errors,
    firstErrors: totals.firstErrors,
    socketsLeftOpen: totals.openSockets,
  };
}

/** A token's user id (its `sub`): the seed signs them, the reads of a user need the id. */
function subjectOf(token: string): string {
  const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as {
    sub: string;
  };
  return payload.sub;
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    process.stdout.write(`${SOAK_USAGE}\n`);
    return;
  }
  const options = parseSoakOptions(process.argv.slice(2), DEFAULT_OUTPUT);
  const scope = new ResourceScope();
  const result: SoakResult = {
    commit: gitCommit(REPOSITORY_ROOT),
    startedAt: new Date().toISOString(),
    command: `npm run soak -- ${process.argv.slice(2).join(' ')}`.trim(),
    options,
    warmUpSeconds: warmUpSeconds(options),
    samples: [],
    fullGc: {},
    loadSeconds: 0,
    settleSeconds: 0,
    redis: '',
  };
  const deadlineSeconds = options.minutes * 60 + OVERHEAD_SECONDS;
  let stopped = false;
  const finish = () => {
    const passed = writeSoakResult(result, dirname(options.output), options.output);
    log(`written to ${relative(process.cwd(), options.output)}`);
    return passed;
  };
  const deadline = setTimeout(() => {
    stopped = true;
    log(`over the ${deadlineSeconds} s deadline: stopping everything`);
    result.error ??= `stopped at the ${deadlineSeconds} s deadline`;
    finish();
    void closeAllScopes().finally(() => process.exit(1));
  }, deadlineSeconds * 1000);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void closeAllScopes().finally(() => process.exit(1)));
  }
  try {
    await runSoak(options, scope, result);
  } catch (error) {
    result.error ??= (error as Error).stack ?? String(error);
  }
  await scope.close();
  clearTimeout(deadline);
  if (!stopped) {
    process.exit(finish() ? 0 : 1);
  }
}

void main();
