import { gitCommit } from '@test/support/git-commit';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { Client } from 'pg';
import { BenchWorker } from '@bench/support/bench-worker';
import { ALL_CORES } from '@bench/support/cores';
import { openFilesHardLimit } from '@bench/support/file-limit';
import { COMPILED_BENCH } from '@bench/support/paths';
import { coreTicks, processTreeCpuSeconds, residentBytes } from '@bench/support/process-cpu';
import { closeAllScopes, ResourceScope } from '@bench/support/resource-scope';
import { sumOf } from '@test/support/prometheus-text';
import { findFreePort } from '@test/support/network';
import { RedisServerProcess } from '@test/support/redis-server-process';
import { createServerSetup, ServerProcess } from '@test/support/server-process';
import { useTestPostgresServer } from '@test/support/test-database';
import { sleep } from '@test/support/wait-until';
import { FleetMonitor, InstanceWatch, RunPhase } from './fleet-monitor';
import { LatencyHistogram } from './latency-histogram';
import type {
  HeldSocket,
  HolderCounts,
  OpenResult,
  ResumeCheck,
  ResumeProgress,
} from './load/socket-holder';
import { readPostBody } from './post-body';
import { Poster } from './poster';
import { parseScaleOptions, SCALE_USAGE, ScaleOptions } from './scale-options';
import {
  expectedDeliveries,
  INSTANCE_COUNT,
  KILLED,
  membersByRoom,
  planScale,
  ScalePlan,
  SURVIVOR,
} from './scale-plan';
import { markdownReport, ScaleCheck, scaleChecks, ScaleFigures } from './scale-report';
import { seedScale } from './scale-seed';

// Compiled to dist/test/scale: the repository is three folders up.
const REPOSITORY_ROOT = resolve(__dirname, '..', '..', '..');
const DEFAULT_OUTPUT = join(REPOSITORY_ROOT, 'test', 'scale', 'results', 'latest.md');
const HOLDER_SCRIPT = relative(COMPILED_BENCH, join(__dirname, 'load', 'socket-holder'));
/** Open files a server needs beside its sockets (database pool, Redis, logs, polls, refused upgrades). */
const SERVER_FILE_RESERVE = 1000;
/**
 * Posts come from many users, each posting now and then, as in a real room: one connection's frames
 * are stored in order, so a few connections posting fast would queue behind each other.
 */
const POSTS_PER_CONNECTION = 0.5;
/**
 * The steady counts are read once deliveries stopped arriving for SETTLE_QUIET_MS (what the
 * servers' fan-out queues held has been written), at most SETTLE_MAX_MS after the last post: the
 * deliveries figure counts what was lost, the latency figure what was late.
 */
const SETTLE_QUIET_MS = 3000;
const SETTLE_MAX_MS = 60_000;
const ANSWERS_TIMEOUT_MS = 15_000;
const CATCH_UP_TIMEOUT_MS = 20_000;

const log = (line: string) => process.stdout.write(`scale: ${line}\n`);

/** What the run holds while it runs: for the figures and for cleaning up. */
interface Fleet {
  servers: ServerProcess[];
  monitor: FleetMonitor;
  poster: Poster;
  holders: { worker: BenchWorker; instance: number }[];
  /** What each client process opens. */
  heldSockets: HeldSocket[][];
  roomIds: string[];
  databaseUrl: string;
}

/** Before anything ran: what the report shows if the run stops early. */
function emptyFigures(options: ScaleOptions): ScaleFigures {
  return {
    commit: gitCommit(REPOSITORY_ROOT),
    startedAt: new Date().toISOString(),
    openFilesLimit: openFilesHardLimit(),
    sockets: { planned: options.sockets, opened: 0, perInstance: [] },
    open: {
      seconds: 0,
      perSecond: 0,
      refused503: 0,
      serverCpuPercent: [],
      clientCpuPercent: 0,
      machineCpuPercent: 0,
    },
    memoryPerSocketKb: [],
    readiness: [],
    breakerOpenings: [],
    breakerOpeningsByPhase: [],
    maxScrapeMs: [],
  };
}

/** Runs the whole suite, filling `figures` as it goes. */
async function runScale(
  options: ScaleOptions,
  scope: ResourceScope,
  figures: ScaleFigures,
): Promise<void> {
  const perInstance = Math.floor(options.sockets / INSTANCE_COUNT);
  // After the kill the survivor holds its own sockets and the returning ones, within its limit.
  const resuming = Math.min(
    perInstance,
    options.resuming ?? Math.max(1, figures.openFilesLimit - perInstance - SERVER_FILE_RESERVE),
  );
  const plan = planScale(options, resuming);
  log(
    `${options.sockets} sockets (${plan.processes.length} client processes), ${plan.resuming} of the killed instance's come back with RealtimeClient; open-file limit ${figures.openFilesLimit}`,
  );
  const fleet = await startFleet(options, plan, scope);
  try {
    await measure(options, plan, fleet, figures);
  } catch (error) {
    figures.error ??= (error as Error).stack ?? String(error);
  }
  const watches = await fleet.monitor.stop();
  collectHealth(fleet, watches, figures);
  // The servers' own account (warn and up), for what the figures do not explain.
  const logDirectory = mkdtempSync(join(tmpdir(), 'switchboard-scale-logs-'));
  fleet.servers.forEach((server, instance) =>
    writeFileSync(join(logDirectory, `instance-${instance}.log`), server.output),
  );
  log(`server logs: ${logDirectory}`);
}

async function startFleet(
  options: ScaleOptions,
  plan: ScalePlan,
  scope: ResourceScope,
): Promise<Fleet> {
  useTestPostgresServer();
  const redis = await RedisServerProcess.start();
  scope.add(() => redis.stop());
  // warn: the breaker's openings are read from the log.
  const setup = await createServerSetup({
    REDIS_URL: redis.url,
    LOG_LEVEL: 'warn',
  });
  scope.add(() => setup.remove());
  const servers: ServerProcess[] = [];
  scope.add(async () => {
    // A profiled server writes its profile on a clean exit only.
    await Promise.all(
      servers.map((server) => (options.profileDirectory ? server.stop() : server.kill())),
    );
  });
  const probePorts: number[] = [];
  for (let instance = 0; instance < INSTANCE_COUNT; instance++) {
    probePorts.push(await findFreePort());
    // One after the other: both would run the migrations at once.
    servers.push(
      await ServerProcess.start(
        { ...setup.environment, HEALTH_PORT: String(probePorts[instance]) },
        {
          nodeArguments: options.profileDirectory
            ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDirectory}`]
            : [],
        },
      ),
    );
  }
  const postersPerInstance = Math.max(
    1,
    Math.ceil(options.postsPerSecond / INSTANCE_COUNT / POSTS_PER_CONNECTION),
  );
  const seed = await seedScale(
    servers[0],
    setup.environment.DATABASE_URL ?? '',
    setup.environment.JWT_SECRET,
    {
      users: options.users,
      rooms: options.rooms,
      posters: servers.map(() => postersPerInstance),
    },
    plan.roomsOfUser,
  );
  const monitor = new FleetMonitor(
    servers,
    probePorts.map((port) => `http://127.0.0.1:${port}`),
  );
  scope.add(async () => {
    await monitor.stop();
  });
  const poster = new Poster(
    servers.map((server) => server.url),
    seed.roomIds,
    options.postsPerSecond,
  );
  scope.add(() => poster.close());
  await poster.connect(seed.posterTokens);
  const holders = plan.processes.map((process) => ({
    worker: BenchWorker.start(scope, HOLDER_SCRIPT, ALL_CORES),
    instance: process.instance,
  }));
  scope.add(async () => {
    await Promise.all(
      holders.map(({ worker }) => worker.request('closeAll').catch(() => undefined)),
    );
  });
  const heldSockets = plan.processes.map((process) =>
    process.sockets.map((socket): HeldSocket => ({
      index: socket.index,
      token: seed.userTokens[socket.user],
      instance: socket.instance,
      resuming: socket.resuming,
      rooms: plan.roomsOfUser[socket.user].map((room) => seed.roomIds[room]),
    })),
  );
  return {
    servers,
    monitor,
    poster,
    holders,
    heldSockets,
    roomIds: seed.roomIds,
    databaseUrl: setup.environment.DATABASE_URL ?? '',
  };
}

async function measure(
  options: ScaleOptions,
  plan: ScalePlan,
  fleet: Fleet,
  figures: ScaleFigures,
): Promise<void> {
  const { servers, monitor, poster, holders } = fleet;
  const pids = servers.map((server) => server.pid ?? 0);
  figures.openFilesLimit = Math.min(figures.openFilesLimit, ...pids.map(openFilesLimitOf));

  // Open: every socket upgrades and joins its rooms.
  // What is left is room for the steady state, the kill and the cleanup within the deadline.
  const openSeconds = options.deadlineSeconds * 0.45;
  const rssBefore = pids.map(residentBytes);
  const openCpuBefore = cpuSnapshot(pids, await holderCounts(fleet));
  const openStarted = performance.now();
  const opened = await Promise.all(
    holders.map(({ worker }, index) =>
      worker.request<OpenResult>(
        'open',
        {
          urls: servers.map((server) => server.url),
          localAddress: plan.processes[index].localAddress,
          sockets: fleet.heldSockets[index],
          concurrency: options.openConcurrency,
          seconds: openSeconds,
        },
        (openSeconds + 40) * 1000,
      ),
    ),
  );
  figures.open.seconds = (performance.now() - openStarted) / 1000;
  const failed = new Set(opened.flatMap((result) => result.failed));
  figures.sockets.opened = options.sockets - failed.size;
  figures.sockets.firstError = opened.find((result) => result.firstError)?.firstError;
  figures.sockets.perInstance = servers.map(
    (_, instance) =>
      plan.sockets.filter((socket) => socket.instance === instance && !failed.has(socket.index))
        .length,
  );
  figures.open.perSecond = figures.sockets.opened / figures.open.seconds;
  figures.memoryPerSocketKb = pids.map(
    (pid, instance) =>
      (residentBytes(pid) - rssBefore[instance]) /
      1024 /
      Math.max(1, figures.sockets.perInstance[instance]),
  );
  const afterOpen = await holderCounts(fleet);
  const openCpu = cpuSnapshot(pids, afterOpen);
  const openWall = (openCpu.at - openCpuBefore.at) / 1000;
  figures.open.serverCpuPercent = openCpu.servers.map(
    (seconds, index) => (100 * (seconds - openCpuBefore.servers[index])) / openWall,
  );
  figures.open.clientCpuPercent = (100 * (openCpu.clients - openCpuBefore.clients)) / openWall;
  figures.open.machineCpuPercent = machinePercent(openCpuBefore, openCpu);
  figures.open.refused503 = refusals(afterOpen, '503');
  log(
    `opened ${figures.sockets.opened} of ${options.sockets} in ${figures.open.seconds.toFixed(1)} s`,
  );

  // Steady state: posts for steadySeconds, at least two presence refreshes.
  monitor.enter('steady');
  const steadyStart = cpuSnapshot(pids, afterOpen);
  poster.post('steady');
  await sleep(options.steadySeconds * 1000);
  poster.post('kill');
  const steadyEnd = cpuSnapshot(pids, await holderCounts(fleet));
  // Posts still waiting for their ack may be stored all the same: the database says which are.
  await poster.waitForAnswers(ANSWERS_TIMEOUT_MS, 'steady');
  const stored = await storedSteadyPosts(fleet.databaseUrl, fleet.roomIds);
  const { counts: steadyCounts, seconds: settleSeconds } = await settledCounts(fleet, steadyEnd.at);
  const posts = poster.result();
  const members = membersByRoom(plan, options.rooms, (socket) => !failed.has(socket.index));
  const storedByRoom = Array.from({ length: INSTANCE_COUNT }, () =>
    new Array<number>(options.rooms).fill(0),
  );
  stored.forEach(({ origin, room }) => storedByRoom[origin][room]++);
  const expected = expectedDeliveries(members, storedByRoom);
  const received = { sameInstance: 0, crossInstance: 0 };
  let receivedUnstored = 0;
  const latency = new LatencyHistogram();
  for (const counts of steadyCounts) {
    latency.addPairs(counts.steadyLatency);
    for (const [receiver, index, count] of counts.steadyByPost) {
      const post = stored.get(index);
      if (!post) {
        receivedUnstored += count;
      } else {
        received[receiver === post.origin ? 'sameInstance' : 'crossInstance'] += count;
      }
    }
  }
  const wall = (steadyEnd.at - steadyStart.at) / 1000;
  const serverCpu = steadyEnd.servers.map((seconds, index) => seconds - steadyStart.servers[index]);
  const deliveries = received.sameInstance + received.crossInstance;
  figures.steady = {
    seconds: wall,
    posts: stored.size,
    postsAcked: posts.ackedByPhase.steady.flat().reduce((sum, count) => sum + count, 0),
    receivedUnstored,
    postsUnanswered: poster.unansweredIn('steady'),
    postRefusals: posts.refused,
    firstPostRefusal: posts.firstRefusal,
    expected,
    received,
    latencyMs: {
      p50: latency.percentile(50),
      p99: latency.percentile(99),
      max: latency.percentile(100),
    },
    socketsDropped: steadyCounts.reduce(
      (sum, counts) => sum + counts.rawClosed + counts.resumingDropped,
      0,
    ),
    machineCpuPercent: machinePercent(steadyStart, steadyEnd),
    serverCpuPercent: serverCpu.map((seconds) => (100 * seconds) / wall),
    clientCpuPercent: (100 * (steadyEnd.clients - steadyStart.clients)) / wall,
    serverCpuMicrosPerDelivery:
      (1e6 * serverCpu.reduce((sum, seconds) => sum + seconds, 0)) / Math.max(1, deliveries),
    maxEventLoopStallMs: [],
    settleSeconds,
  };
  log(
    `steady state: ${figures.steady.posts} posts, ${deliveries} of ${expected.sameInstance + expected.crossInstance} live deliveries`,
  );

  // SIGKILL one instance; its RealtimeClients come back on the survivor and resume.
  const refusedBefore = await refused503ByServer(monitor);
  const beforeKill = await holderCounts(fleet);
  const clientRefusalsBefore = refusals(beforeKill, '503');
  const stormStart = performance.now();
  const survivorCpuBefore = processTreeCpuSeconds(pids[SURVIVOR]);
  monitor.forget(KILLED);
  monitor.enter('kill');
  const killedAt = Date.now();
  await servers[KILLED].kill();
  poster.instanceDied(KILLED);
  await Promise.all(
    holders.map(({ worker }) =>
      worker.request('failover', { from: KILLED, to: SURVIVOR, killedAt }),
    ),
  );
  log(`instance ${KILLED} killed; waiting for ${plan.resuming} clients to come back`);
  const backTimeline: number[] = [];
  let progress = await resumeProgress(fleet);
  for (
    let second = 0;
    second < options.watchBackSeconds && progress.back + progress.gaveUp < progress.resuming;
    second++
  ) {
    await sleep(1000);
    progress = await resumeProgress(fleet);
    backTimeline.push(progress.back);
  }
  log(`clients back by second after the kill: ${backTimeline.join(' ')}`);
  const stormSeconds = (performance.now() - stormStart) / 1000;
  const survivorCpu = processTreeCpuSeconds(pids[SURVIVOR]) - survivorCpuBefore;
  const afterStorm = await holderCounts(fleet);
  const survivorOpenFiles = readdirSync(`/proc/${pids[SURVIVOR]}/fd`).length;
  const stormErrors: Record<string, number> = {};
  afterStorm.forEach((counts, index) => {
    for (const [kind, count] of Object.entries(counts.errors)) {
      const delta = count - (beforeKill[index].errors[kind] ?? 0);
      if (delta > 0) {
        stormErrors[kind] = (stormErrors[kind] ?? 0) + delta;
      }
    }
  });
  const busiestClient = Math.max(
    ...afterStorm.map((counts, index) => counts.cpuSeconds - beforeKill[index].cpuSeconds),
  );
  const backSeconds = progress.backMs.map((ms) => ms / 1000).sort((a, b) => a - b);
  const allBack = progress.back === progress.resuming ? (backSeconds.at(-1) ?? 0) : undefined;
  log(
    `${progress.back} of ${progress.resuming} back${allBack === undefined ? '' : ` after ${allBack.toFixed(1)} s`}`,
  );
  await sleep(options.postsAfterBackSeconds * 1000);
  poster.stop();
  await poster.waitForAnswers(ANSWERS_TIMEOUT_MS);
  const lastSeq = await lastSeqByRoom(fleet.databaseUrl, fleet.roomIds);
  let check = await resumeCheck(fleet, lastSeq);
  for (
    const deadline = Date.now() + CATCH_UP_TIMEOUT_MS;
    check.caughtUp < check.clients && Date.now() < deadline;
  ) {
    await sleep(1000);
    check = await resumeCheck(fleet, lastSeq);
  }
  const finalCounts = await holderCounts(fleet);
  const refusedAfter = await refused503ByServer(monitor);
  const peak = backTimeline.reduce(
    (max, back, index) => Math.max(max, back - (index > 0 ? backTimeline[index - 1] : 0)),
    0,
  );
  figures.kill = {
    resuming: progress.resuming,
    dropped: figures.sockets.perInstance[KILLED],
    back: progress.back,
    backP50Seconds: backSeconds[Math.floor(backSeconds.length * 0.5)] ?? Number.NaN,
    backP95Seconds: backSeconds[Math.floor(backSeconds.length * 0.95)] ?? Number.NaN,
    allBackSeconds: allBack,
    stormAcceptPerSecond: progress.back / Math.max(0.001, backSeconds.at(-1) ?? 0),
    stormPeakAcceptPerSecond: peak,
    refused503: refusals(finalCounts, '503') - clientRefusalsBefore,
    refused503WithRetryAfter:
      refusals(finalCounts, '503 with Retry-After') - refusals(beforeKill, '503 with Retry-After'),
    refused503ByServer: refusedAfter - refusedBefore,
    reconnectAttempts: progress.reconnectAttempts,
    gaveUp: progress.gaveUp,
    firstGaveUp: progress.firstGaveUp,
    caughtUp: check.caughtUp,
    missing: check.missing,
    duplicates: check.duplicates,
    clientsWithMissing: check.clientsWithMissing,
    clientsWithDuplicates: check.clientsWithDuplicates,
    survivorMaxEventLoopStallMs: 0,
    survivorCpuPercent: (100 * survivorCpu) / stormSeconds,
    survivorOpenFiles,
    connectErrors: stormErrors,
    busiestClientCpuPercent: (100 * busiestClient) / stormSeconds,
    postsLostWithInstance: poster.result().lostWithInstance,
  };
}

/** Readiness, breaker and stalls per instance, counted while the instance was healthy. */
function collectHealth(fleet: Fleet, watches: InstanceWatch[], figures: ScaleFigures): void {
  const healthyIn = (instance: number): RunPhase[] =>
    instance === KILLED ? ['open', 'steady'] : ['open', 'steady', 'kill'];
  figures.readiness = watches.map((watch, instance) => {
    const phases = healthyIn(instance);
    return {
      polls: phases.reduce((sum, phase) => sum + watch.readiness[phase].polls, 0),
      failed: phases.reduce((sum, phase) => sum + watch.readiness[phase].failed, 0),
      degraded: phases.reduce((sum, phase) => sum + watch.readiness[phase].degraded, 0),
      byPhase: Object.fromEntries(
        phases.map((phase) => [
          phase,
          `${watch.readiness[phase].failed}/${watch.readiness[phase].polls}`,
        ]),
      ),
      firstFailure: phases.map((phase) => watch.readiness[phase].firstFailure).find(Boolean),
    };
  });
  // The killed instance's log ends with it: whatever it logged, it logged while healthy.
  figures.breakerOpeningsByPhase = fleet.servers.map((_, instance) =>
    fleet.monitor.breakerOpenings(instance),
  );
  figures.breakerOpenings = figures.breakerOpeningsByPhase.map((byPhase) =>
    Object.values(byPhase).reduce((sum, count) => sum + count, 0),
  );
  figures.maxScrapeMs = watches.map((watch) => watch.maxScrapeMs);
  if (figures.steady) {
    figures.steady.maxEventLoopStallMs = watches.map((watch) => watch.maxEventLoopStallMs.steady);
  }
  if (figures.kill) {
    figures.kill.survivorMaxEventLoopStallMs = watches[SURVIVOR].maxEventLoopStallMs.kill;
  }
}

interface CpuSnapshot {
  at: number;
  machine: { busy: number; total: number };
  servers: number[];
  clients: number;
}

function cpuSnapshot(pids: number[], counts: HolderCounts[]): CpuSnapshot {
  return {
    at: performance.now(),
    // The `cpu` line of /proc/stat: both cores together.
    machine: coreTicks(''),
    servers: pids.map(processTreeCpuSeconds),
    clients: counts.reduce((sum, holder) => sum + holder.cpuSeconds, 0),
  };
}

/** The survivor's count of upgrades refused with 503; NaN when it does not answer the scrape. */
async function refused503ByServer(monitor: FleetMonitor): Promise<number> {
  try {
    return sumOf(await monitor.metrics(SURVIVOR), 'switchboard_ws_upgrades_refused_total', {
      status: '503',
    });
  } catch {
    return Number.NaN;
  }
}

/** How busy both cores were between two snapshots, whoever kept them busy. */
function machinePercent(before: CpuSnapshot, after: CpuSnapshot): number {
  return (
    (100 * (after.machine.busy - before.machine.busy)) /
    Math.max(1, after.machine.total - before.machine.total)
  );
}

/**
 * The client processes' counts once steady deliveries stopped rising for SETTLE_QUIET_MS (or
 * SETTLE_MAX_MS after `since` passed), and how long after `since` they stopped.
 */
async function settledCounts(
  fleet: Fleet,
  since: number,
): Promise<{ counts: HolderCounts[]; seconds: number }> {
  const steadyDeliveries = (counts: HolderCounts[]) =>
    counts.reduce(
      (sum, holder) => sum + holder.steadyByPost.reduce((total, [, , count]) => total + count, 0),
      0,
    );
  let counts = await holderCounts(fleet);
  let seen = steadyDeliveries(counts);
  let lastRiseAt = performance.now();
  while (
    performance.now() - lastRiseAt < SETTLE_QUIET_MS &&
    performance.now() - since < SETTLE_MAX_MS
  ) {
    await sleep(500);
    counts = await holderCounts(fleet);
    const now = steadyDeliveries(counts);
    if (now > seen) {
      seen = now;
      lastRiseAt = performance.now();
    }
  }
  return { counts, seconds: Math.max(0, lastRiseAt - since) / 1000 };
}

function holderCounts(fleet: Fleet): Promise<HolderCounts[]> {
  return Promise.all(fleet.holders.map(({ worker }) => worker.request<HolderCounts>('counts')));
}

function refusals(counts: HolderCounts[], status: string): number {
  return counts.reduce((sum, holder) => sum + (holder.refusals[status] ?? 0), 0);
}

async function resumeProgress(fleet: Fleet): Promise<ResumeProgress> {
  const all = await Promise.all(
    fleet.holders.map(({ worker }) => worker.request<ResumeProgress>('progress')),
  );
  return {
    resuming: all.reduce((sum, one) => sum + one.resuming, 0),
    back: all.reduce((sum, one) => sum + one.back, 0),
    backMs: all.flatMap((one) => one.backMs),
    reconnectAttempts: all.reduce((sum, one) => sum + one.reconnectAttempts, 0),
    gaveUp: all.reduce((sum, one) => sum + one.gaveUp, 0),
    firstGaveUp: all.find((one) => one.firstGaveUp)?.firstGaveUp,
  };
}

async function resumeCheck(fleet: Fleet, lastSeq: Record<string, number>): Promise<ResumeCheck> {
  const all = await Promise.all(
    fleet.holders.map(({ worker }) => worker.request<ResumeCheck>('check', { lastSeq })),
  );
  const sum = (key: keyof ResumeCheck) => all.reduce((total, one) => total + one[key], 0);
  return {
    clients: sum('clients'),
    caughtUp: sum('caughtUp'),
    missing: sum('missing'),
    duplicates: sum('duplicates'),
    clientsWithMissing: sum('clientsWithMissing'),
    clientsWithDuplicates: sum('clientsWithDuplicates'),
  };
}

/** The steady posts the database stored, by post number: where each was sent, and its room. */
async function storedSteadyPosts(
  databaseUrl: string,
  roomIds: string[],
): Promise<Map<number, { origin: number; room: number }>> {
  const roomIndex = new Map(roomIds.map((id, index) => [id, index]));
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ roomId: string; body: string }>(
      `SELECT "roomId", body FROM messages WHERE body LIKE 's:%'`,
    );
    const stored = new Map<number, { origin: number; room: number }>();
    for (const row of rows) {
      const stamp = readPostBody(row.body);
      const room = roomIndex.get(row.roomId);
      if (stamp && room !== undefined) {
        stored.set(stamp.index, { origin: stamp.origin, room });
      }
    }
    return stored;
  } finally {
    await client.end();
  }
}

/** What the database stored: the rooms' last seq, the truth the clients are checked against. */
async function lastSeqByRoom(
  databaseUrl: string,
  roomIds: string[],
): Promise<Record<string, number>> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string; lastSeq: string }>(
      'SELECT id, "lastSeq" FROM rooms WHERE id = ANY($1)',
      [roomIds],
    );
    return Object.fromEntries(rows.map((row) => [row.id, Number(row.lastSeq)]));
  } finally {
    await client.end();
  }
}

function openFilesLimitOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/limits`, 'utf8')
    .split('\n')
    .find((row) => row.startsWith('Max open files'));
  return Number(line?.trim().split(/\s+/)[3] ?? Number.NaN);
}

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    process.stdout.write(`${SCALE_USAGE}\n`);
    return;
  }
  const options = parseScaleOptions(process.argv.slice(2), DEFAULT_OUTPUT);
  const scope = new ResourceScope();
  const figures = emptyFigures(options);
  let stopped = false;
  const deadline = setTimeout(() => {
    stopped = true;
    log(`over the ${options.deadlineSeconds} s deadline: stopping everything`);
    figures.error ??= `stopped at the ${options.deadlineSeconds} s deadline`;
    writeReport(options, figures);
    void closeAllScopes().finally(() => process.exit(1));
  }, options.deadlineSeconds * 1000);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void closeAllScopes().finally(() => process.exit(1)));
  }
  try {
    await runScale(options, scope, figures);
  } catch (error) {
    figures.error ??= (error as Error).stack ?? String(error);
  } finally {
    await scope.close();
    clearTimeout(deadline);
  }
  if (!stopped) {
    process.exit(writeReport(options, figures) ? 0 : 1);
  }
}

/** Prints the figures and the checks, writes them to `options.output`; whether the run passed. */
function writeReport(options: ScaleOptions, figures: ScaleFigures): boolean {
  const checks: ScaleCheck[] = scaleChecks(figures, options);
  const report = markdownReport(figures, checks, options);
  mkdirSync(dirname(options.output), { recursive: true });
  writeFileSync(options.output, report);
  writeFileSync(
    options.output.replace(/\.md$/, '.json'),
    `${JSON.stringify({ options, figures }, null, 2)}\n`,
  );
  process.stdout.write(`\n${report}\n`);
  log(`written to ${relative(process.cwd(), options.output)}`);
  return checks.every((check) => check.passed) && !figures.error;
}

void main();
