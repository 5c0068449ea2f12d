import { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResourceScope } from './resource-scope';
import { findFreePort, waitForOk } from './network';
import { CLUSTER_MAIN, PROFILES_DIRECTORY, SERVER_MAIN } from './paths';
import { hasExited, spawnPinned } from './pinned-process';

const START_TIMEOUT_MS = 60_000;

/**
 * Limits high enough that the rate limiters run on every request (their cost is part of the
 * figure) but never refuse one. The report says so.
 */
export const UNREFUSING_LIMITS = {
  THROTTLE_LIMIT: '100000000',
  AUTH_THROTTLE_LIMIT: '100000',
  WS_CONNECT_LIMIT: '100000000',
  WS_ACCEPT_RATE: '100000000',
  WS_ACCEPT_BURST: '100000000',
  WS_ACCEPT_CONCURRENCY: '100000000',
} as const;

export interface SwitchboardOptions {
  cores: string;
  /** Added to (or overriding) the bench defaults: DATABASE_URL, REDIS_URL, CACHE_TTL_MS… */
  environment?: Record<string, string>;
  /** `npm run start:cluster` with this many workers instead of `npm run start:prod`. */
  clusterWorkers?: number;
  /** Write a V8 CPU profile into bench/profiles when the server stops. */
  profile?: boolean;
  /** More node flags, e.g. `--inspect-port` for the heap readings. */
  nodeFlags?: string[];
}

/**
 * The server under test, as production runs it (`node dist/src/main.js`, NODE_ENV=production,
 * default LOG_LEVEL), on a free port of 127.0.0.1 with a fresh DATA_DIR. Its log goes to a file
 * in that directory, written by the kernel, not by the bench's own process.
 */
export class SwitchboardServer {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly dataDirectory: string,
  ) {}

  static async start(
    scope: ResourceScope,
    options: SwitchboardOptions,
  ): Promise<SwitchboardServer> {
    const dataDirectory = mkdtempSync(join(tmpdir(), 'switchboard-bench-'));
    scope.add(() => rmSync(dataDirectory, { recursive: true, force: true }));
    const port = await findFreePort();
    const logFile = openSync(join(dataDirectory, 'server.log'), 'a');
    const nodeFlags = [...(options.profile ? profileFlags() : []), ...(options.nodeFlags ?? [])];
    const script = options.clusterWorkers ? CLUSTER_MAIN : SERVER_MAIN;
    const child = spawnPinned(scope, process.execPath, [...nodeFlags, script], {
      cores: options.cores,
      // Not the repository: a developer's .env there would fill in REDIS_URL and the like.
      cwd: dataDirectory,
      stdio: ['ignore', logFile, logFile],
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        PORT: String(port),
        DATA_DIR: dataDirectory,
        JWT_SECRET: randomBytes(32).toString('hex'),
        // A full run outlasts the default 15 minutes of one token.
        JWT_TTL: '2h',
        ...UNREFUSING_LIMITS,
        ...(options.clusterWorkers ? { CLUSTER_WORKERS: String(options.clusterWorkers) } : {}),
        ...options.environment,
      },
    });
    closeSync(logFile);
    const server = new SwitchboardServer(child, port, dataDirectory);
    await waitForOk(`${server.url}/health`, START_TIMEOUT_MS, () =>
      hasExited(child) ? `server exited: ${server.logTail()}` : undefined,
    );
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The primary's pid; CPU readings include the processes it forked. */
  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** The SQLite file of the embedded default. */
  get sqlitePath(): string {
    return join(this.dataDirectory, 'switchboard.sqlite');
  }

  /** The end of the server's log, for an error message. */
  logTail(characters = 2000): string {
    try {
      return readFileSync(join(this.dataDirectory, 'server.log'), 'utf8').slice(-characters).trim();
    } catch {
      return '(no log)';
    }
  }
}

/** `--cpu-prof`: V8 writes the profile when the process exits (the scope sends SIGTERM). */
function profileFlags(): string[] {
  mkdirSync(PROFILES_DIRECTORY, { recursive: true });
  return ['--cpu-prof', `--cpu-prof-dir=${PROFILES_DIRECTORY}`];
}
