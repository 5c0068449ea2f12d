import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ProcessExit, ServerEnvironment, ServerProcess } from './server-process';
import { waitUntil } from './wait-until';

/** The compiled cluster entry point, as `npm run start:cluster` runs it. */
export const CLUSTER_MAIN = join(resolve(__dirname, '..', '..'), 'dist', 'src', 'cluster.js');

const WORKERS_TIMEOUT_MS = 30_000;
/** The primary's line when a worker is in service: `worker <pid> listening on <address>`. */
const LISTENING = /^worker (\d+) listening on /;

/**
 * `node dist/src/cluster.js` (`npm run start:cluster`) on a free port of 127.0.0.1: the primary
 * (a ServerProcess, so its log and exit are at hand) and its workers. Linux only: the workers are
 * found as the primary's children (`pgrep -P`), and /proc tells which one holds a connection.
 * Stop it in afterAll.
 */
export class ClusterProcess {
  /** Every worker pid seen, so that none outlives the suite. */
  private readonly seenWorkers = new Set<number>();

  private constructor(readonly primary: ServerProcess) {}

  /** Starts the primary and resolves once `workers` workers listen. */
  static async start(environment: ServerEnvironment, workers: number): Promise<ClusterProcess> {
    const primary = await ServerProcess.start(
      { ...environment, CLUSTER_WORKERS: String(workers) },
      { script: CLUSTER_MAIN },
    );
    const cluster = new ClusterProcess(primary);
    try {
      await cluster.waitForWorkers(workers, WORKERS_TIMEOUT_MS);
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  get url(): string {
    return this.primary.url;
  }

  /** What supertest and the test helpers send to (see `HttpTarget`). */
  get server(): string {
    return this.primary.url;
  }

  get port(): number {
    return this.primary.port;
  }

  /** The worker processes running now. */
  workerPids(): number[] {
    // pgrep exits 1, with no output, when there is none.
    const result = spawnSync('pgrep', ['-P', String(this.primary.pid)], { encoding: 'utf8' });
    if (result.error) {
      throw result.error;
    }
    const pids = result.stdout.split('\n').filter(Boolean).map(Number);
    pids.forEach((pid) => this.seenWorkers.add(pid));
    return pids.sort((a, b) => a - b);
  }

  /** Waits until exactly `count` workers run and each has been reported listening; their pids. */
  async waitForWorkers(count: number, timeoutMs: number): Promise<number[]> {
    let pids: number[] = [];
    await waitUntil(
      () => {
        pids = this.workerPids();
        const listening = this.listeningPids();
        return pids.length === count && pids.every((pid) => listening.has(pid));
      },
      timeoutMs,
      `${count} listening workers (have ${pids.join(', ') || 'none'})`,
    );
    return pids;
  }

  /** The worker that holds the server end of the TCP connection from local port `clientPort`. */
  workerOf(clientPort: number): number | undefined {
    const inode = connectionInode(this.port, clientPort);
    if (inode === undefined) {
      return undefined;
    }
    return this.workerPids().find((pid) => holdsSocket(pid, inode));
  }

  /** SIGTERM to the primary: it drains its workers and exits. */
  async stop(): Promise<ProcessExit> {
    this.workerPids();
    const exit = await this.primary.stop();
    this.killStrayWorkers();
    return exit;
  }

  private listeningPids(): Set<number> {
    const pids = this.primary
      .logLines()
      .flatMap((line) => LISTENING.exec(line.msg ?? '')?.slice(1, 2) ?? [])
      .map(Number);
    return new Set(pids);
  }

  /** Workers exit with their primary; a worker that did not is killed (if the pid is still one). */
  private killStrayWorkers(): void {
    for (const pid of this.seenWorkers) {
      if (commandLineOf(pid)?.includes(CLUSTER_MAIN)) {
        process.kill(pid, 'SIGKILL');
      }
    }
  }
}

/** The inode of the socket 127.0.0.1:serverPort ↔ 127.0.0.1:clientPort, from /proc/net/tcp. */
function connectionInode(serverPort: number, clientPort: number): string | undefined {
  const hexPort = (port: number) => port.toString(16).toUpperCase().padStart(4, '0');
  // Columns: sl, local_address, rem_address, st, tx:rx queue, tr:when, retrnsmt, uid, timeout, inode.
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const columns = line.trim().split(/\s+/);
    if (
      columns[1]?.endsWith(`:${hexPort(serverPort)}`) &&
      columns[2]?.endsWith(`:${hexPort(clientPort)}`)
    ) {
      return columns[9];
    }
  }
  return undefined;
}

/** The command line of a running process; undefined once it is gone. */
function commandLineOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return undefined;
  }
}

function holdsSocket(pid: number, inode: string): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}
