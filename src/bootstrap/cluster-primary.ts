import cluster, { Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { AppConfig, usesRedis } from '@config';

/** A worker that lived at least this long counts as healthy: its next restart is immediate. */
const STABLE_AFTER_MS = 30_000;
const FIRST_RESTART_DELAY_MS = 500;
const MAX_RESTART_DELAY_MS = 30_000;

/**
 * Why a configuration cannot run as a cluster, or undefined. Workers share state only through
 * Redis (cache, bus, rate limits) and the database; an in-process bus would split the fleet, and
 * one SQLite file under many writer processes serialises every write behind a file lock.
 */
export function clusterConfigProblem(config: AppConfig): string | undefined {
  if (!usesRedis(config)) {
    return 'start:cluster needs REDIS_URL (or REDIS_CLUSTER_NODES): workers share the cache, bus and rate limits through Redis';
  }
  if (config.database.type !== 'postgres') {
    return 'start:cluster needs DATABASE_URL=postgres://…: SQLite is for one process';
  }
  return undefined;
}

/** Restart delay after a worker that lived `livedMs` died, given the previous delay. */
export function nextRestartDelay(previousDelayMs: number, livedMs: number): number {
  if (livedMs >= STABLE_AFTER_MS) {
    return 0;
  }
  return Math.min(MAX_RESTART_DELAY_MS, Math.max(FIRST_RESTART_DELAY_MS, previousDelayMs * 2));
}

/** How a worker ended, as node:cluster reports it. */
export interface WorkerExit {
  code: number | null;
  signal: string | null;
}

/**
 * The primary's exit code once its workers are gone: 0 only when every worker drained and exited
 * 0, so that a supervisor (systemd, an orchestrator, CI) sees a drain that went wrong.
 */
export function primaryExitCode(exits: WorkerExit[]): number {
  return exits.every((exit) => exit.code === 0 && exit.signal === null) ? 0 : 1;
}

/**
 * The primary: forks the workers (node:cluster hands connections out round-robin), restarts a
 * worker that dies with exponential back-off, and on SIGTERM/SIGINT lets every worker drain
 * (each exits 0 once its in-flight requests are done) before it exits itself: 0 when every
 * worker exited 0, else 1.
 */
export function runPrimary(config: AppConfig): void {
  const problem = clusterConfigProblem(config);
  if (problem) {
    process.stderr.write(`${problem}\n`);
    process.exit(1);
  }
  cluster.schedulingPolicy = cluster.SCHED_RR;
  const workerCount = config.clusterWorkers ?? availableParallelism();
  const startedAt = new Map<Worker, number>();
  let restartDelayMs = 0;
  let shuttingDown = false;
  const exitsWhileShuttingDown: WorkerExit[] = [];

  const fork = () => startedAt.set(cluster.fork(), Date.now());

  // A worker is in service once it listens: the line operators (and the tests) wait for.
  cluster.on('listening', (worker, address) => {
    log(`worker ${worker.process.pid} listening on ${address.address}:${address.port}`);
  });

  cluster.on('exit', (worker, code, signal) => {
    const livedMs = Date.now() - (startedAt.get(worker) ?? Date.now());
    startedAt.delete(worker);
    if (shuttingDown) {
      exitsWhileShuttingDown.push({ code, signal });
      if (startedAt.size === 0) {
        process.exit(primaryExitCode(exitsWhileShuttingDown));
      }
      return;
    }
    restartDelayMs = nextRestartDelay(restartDelayMs, livedMs);
    log(
      `worker ${worker.process.pid} exited (${signal ?? code}); restarting in ${restartDelayMs} ms`,
    );
    setTimeout(() => {
      if (!shuttingDown) {
        fork();
      }
    }, restartDelayMs);
  });

  const shutdown = (signal: NodeJS.Signals) => {
    if (shuttingDown) {
      return;
    }
    shuttingDown = true;
    log(`${signal} received: draining ${startedAt.size} workers`);
    if (startedAt.size === 0) {
      process.exit(0);
    }
    for (const worker of startedAt.keys()) {
      worker.process.kill('SIGTERM');
    }
    setTimeout(() => {
      log(`workers still running after ${config.http.shutdownTimeoutMs} ms: exiting`);
      process.exit(1);
    }, config.http.shutdownTimeoutMs + 1000).unref();
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);

  log(`primary ${process.pid}: starting ${workerCount} workers`);
  for (let i = 0; i < workerCount; i++) {
    fork();
  }
}

function log(message: string): void {
  process.stdout.write(
    `${JSON.stringify({ level: 30, time: Date.now(), pid: process.pid, context: 'Cluster', msg: message })}\n`,
  );
}
