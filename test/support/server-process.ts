import { ChildProcess, spawn, spawnSync, SpawnSyncReturns } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { findFreePort } from './network';
import { createTestDatabase } from './test-database';
import { testRedisEnvironmentUnlessIn } from './test-redis';
import { settlesWithin, sleep, waitUntil } from './wait-until';

// From source under Jest (test/support), or compiled for the scale suite (dist/test/support).
const ROOT = resolve(__dirname, '..', '..', ...(__dirname.includes('/dist/test/') ? ['..'] : []));
/** The compiled server, as `npm run start:prod` runs it. */
export const SERVER_MAIN = join(ROOT, 'dist', 'src', 'main.js');

const START_TIMEOUT_MS = 30_000;
/** For an entry point that is expected to refuse to start. */
const RUN_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;
/** Output kept per stream: enough for every line a suite logs, bounded all the same. */
const OUTPUT_LIMIT = 4 * 1024 * 1024;
/** Output quoted when a start fails. */
const OUTPUT_QUOTED = 8192;

/**
 * The server's environment. DATA_DIR and JWT_SECRET are required so that a test process never
 * writes into the repository's `data/` or makes up a key that a second process would not share.
 */
export interface ServerEnvironment {
  DATA_DIR: string;
  JWT_SECRET: string;
  /** Empty or left out: SQLite in DATA_DIR. */
  DATABASE_URL?: string;
  [name: string]: string | undefined;
}

export interface ServerProcessOptions {
  /** The compiled entry point to run; `dist/src/main.js` unless said otherwise. */
  script?: string;
  /** Listen here (a restarted instance takes its predecessor's port); a free one otherwise. */
  port?: number;
  /** Flags for node itself before the script, e.g. `--cpu-prof` (not allowed in NODE_OPTIONS). */
  nodeArguments?: string[];
}

/** How a process ended. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The environment of a suite's server processes, and how to clean up after them. */
export interface ServerSetup {
  environment: ServerEnvironment;
  /** Drops the database and deletes DATA_DIR: in afterAll, once the servers are gone. */
  remove(): Promise<void>;
}

/**
 * What the server processes of one suite share, as a fleet's instances do: a data directory of
 * their own, one JWT secret, the suite's database (PostgreSQL under `npm run test:services`,
 * else SQLite in DATA_DIR) and Redis with the suite's key prefix (under test:services only).
 */
export async function createServerSetup(
  overrides: Record<string, string> = {},
): Promise<ServerSetup> {
  const dataDirectory = mkdtempSync(join(tmpdir(), 'switchboard-server-'));
  const database = await createTestDatabase();
  return {
    environment: {
      DATA_DIR: dataDirectory,
      JWT_SECRET: randomBytes(32).toString('hex'),
      DATABASE_URL: database.url,
      ...testRedisEnvironmentUnlessIn(overrides),
      // A busy shared machine delays every event loop; that is not what these suites test.
      SHED_MAX_EVENT_LOOP_DELAY_MS: '0',
      ...overrides,
    },
    remove: async () => {
      await database.drop();
      rmSync(dataDirectory, { recursive: true, force: true });
    },
  };
}

/**
 * Runs an entry point that should refuse to start until it exits, in an empty working directory
 * (no `.env` there fills in what the test leaves out), with only the given environment.
 */
export function runUntilExit(
  environment: Record<string, string>,
  options: ServerProcessOptions = {},
): SpawnSyncReturns<string> {
  const workingDirectory = mkdtempSync(join(tmpdir(), 'switchboard-run-'));
  try {
    return spawnSync(process.execPath, [options.script ?? SERVER_MAIN], {
      cwd: workingDirectory,
      env: { PATH: process.env.PATH ?? '', ...environment },
      encoding: 'utf8',
      timeout: RUN_TIMEOUT_MS,
    });
  } finally {
    rmSync(workingDirectory, { recursive: true, force: true });
  }
}

/** One line of the server's JSON log (pino), as far as the tests read it. */
export interface LogLine {
  level?: number;
  pid?: number;
  context?: string;
  msg?: string;
  requestId?: string;
  req?: { id?: string; method?: string; url?: string };
  res?: { statusCode?: number };
  [field: string]: unknown;
}

/**
 * `node dist/src/main.js` in a child process on a free port of 127.0.0.1: what production runs,
 * for tests that need several processes, a real signal or a real crash. Build first (`npm test`
 * and `npm run test:services` do). Everything it writes is kept, so a test can read its log.
 * Stop or kill every one in `afterAll`.
 */
export class ServerProcess {
  private stdoutText = '';
  private stderrText = '';
  private exitState: string | undefined;
  /** Settles when the process has exited, however it ended. */
  readonly exited: Promise<ProcessExit>;
  private readonly killOnExit = () => this.child.kill('SIGKILL');

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.stdout?.on('data', (chunk: Buffer) => (this.stdoutText = keep(this.stdoutText, chunk)));
    child.stderr?.on('data', (chunk: Buffer) => (this.stderrText = keep(this.stderrText, chunk)));
    child.once('error', (error) => (this.exitState ??= error.message));
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exitState ??= `exited with ${code ?? signal}`;
        resolve({ code, signal });
      }),
    );
    process.once('exit', this.killOnExit);
  }

  /** Starts a server and resolves once `GET /health` answers 200. */
  static async start(
    environment: ServerEnvironment,
    options: ServerProcessOptions = {},
  ): Promise<ServerProcess> {
    const script = options.script ?? SERVER_MAIN;
    if (!environment.DATA_DIR || !environment.JWT_SECRET) {
      throw new Error('ServerProcess.start needs DATA_DIR and JWT_SECRET');
    }
    if (!existsSync(script)) {
      throw new Error(`${script} is missing: run \`npx nest build\` first`);
    }
    const port = options.port ?? (await findFreePort());
    const child = spawn(process.execPath, [...(options.nodeArguments ?? []), script], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Only what is named here: nothing leaks in from the test runner's own environment.
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'test',
        HOST: '127.0.0.1',
        PORT: String(port),
        LOG_LEVEL: 'silent',
        THROTTLE_LIMIT: '1000000',
        AUTH_THROTTLE_LIMIT: '1000000',
        WS_CONNECT_LIMIT: '1000000',
        // No balancer probes readiness here: stop at once unless a suite measures the drain.
        SHUTDOWN_DRAIN_DELAY_MS: '0',
        ...environment,
      },
    });
    const server = new ServerProcess(child, port);
    await server.waitUntilHealthy();
    return server;
  }

  /** The base URL, e.g. `http://127.0.0.1:43210`. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** What supertest and the test helpers send to (see `HttpTarget`). */
  get server(): string {
    return this.url;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Everything the process wrote to stdout and stderr so far. */
  get output(): string {
    return `${this.stdoutText}${this.stderrText}`;
  }

  /** The JSON lines of stdout (the server's pino log), parsed; other lines are left out. */
  logLines(): LogLine[] {
    return this.stdoutText.split('\n').flatMap((line) => {
      if (!line.startsWith('{')) {
        return [];
      }
      try {
        return [JSON.parse(line) as LogLine];
      } catch {
        return [];
      }
    });
  }

  /** The shutdown's own drain steps (log context `Shutdown`), in the order written. */
  drainSteps(): string[] {
    return this.logLines()
      .filter((line) => line.context === 'Shutdown' && line.msg?.startsWith('drain: '))
      .map((line) => String(line.msg));
  }

  /** Waits until the log has at least `count` lines that `matches`; returns them. */
  async waitForLogLines(
    matches: (line: LogLine) => boolean,
    count: number,
    timeoutMs: number,
    what: string,
  ): Promise<LogLine[]> {
    await waitUntil(() => this.logLines().filter(matches).length >= count, timeoutMs, what);
    return this.logLines().filter(matches);
  }

  /** Sends a signal and returns at once; `waitForExit` tells how the process took it. */
  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** How the process ended; rejects if it is still running after `timeoutMs`. */
  async waitForExit(timeoutMs: number): Promise<ProcessExit> {
    if (!(await settlesWithin(this.exited, timeoutMs))) {
      throw new Error(`Process ${this.pid} still running after ${timeoutMs} ms`);
    }
    return this.exited;
  }

  /** SIGTERM: the server drains and exits; SIGKILL if it has not after a while. */
  stop(): Promise<ProcessExit> {
    return this.signalAndWait('SIGTERM');
  }

  /** SIGKILL, as a crash: nothing is flushed or closed. Resolves once the process is gone. */
  kill(): Promise<ProcessExit> {
    return this.signalAndWait('SIGKILL');
  }

  private async waitUntilHealthy(): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (this.exitState !== undefined || Date.now() > deadline) {
        await this.kill();
        throw new Error(
          `Server on port ${this.port} did not start (${this.exitState ?? 'timed out'}): ${this.output.slice(-OUTPUT_QUOTED).trim()}`,
        );
      }
      try {
        const response = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(1000) });
        if (response.ok) {
          return;
        }
      } catch {
        // Not listening yet.
      }
      await sleep(100);
    }
  }

  private async signalAndWait(signal: NodeJS.Signals): Promise<ProcessExit> {
    process.removeListener('exit', this.killOnExit);
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill(signal);
      try {
        return await this.waitForExit(STOP_TIMEOUT_MS);
      } catch {
        this.child.kill('SIGKILL');
      }
    }
    return this.exited;
  }
}

function keep(kept: string, chunk: Buffer): string {
  const text = kept + chunk.toString();
  return text.length > OUTPUT_LIMIT ? text.slice(-OUTPUT_LIMIT) : text;
}
