import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { sleep } from './wait-until';

const ROOT = resolve(__dirname, '..', '..');
/** The compiled server, as `npm run start:prod` runs it. */
export const SERVER_MAIN = join(ROOT, 'dist', 'src', 'main.js');

const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const OUTPUT_KEPT = 8192;

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

/**
 * `node dist/src/main.js` in a child process on a free port of 127.0.0.1: what production runs,
 * for tests that need several processes or a real crash. Build first (`npx nest build`;
 * `npm run test:services` does it in its global setup). Stop or kill every one in `afterAll`.
 */
export class ServerProcess {
  private output = '';
  private exit: string | undefined;
  private readonly killOnExit = () => this.child.kill('SIGKILL');

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.stdout?.on('data', (chunk: Buffer) => this.keep(chunk));
    child.stderr?.on('data', (chunk: Buffer) => this.keep(chunk));
    child.once('error', (error) => (this.exit ??= error.message));
    child.once('exit', (code, signal) => (this.exit ??= `exited with ${code ?? signal}`));
    process.once('exit', this.killOnExit);
  }

  /** Starts a server and resolves once `GET /health` answers 200. */
  static async start(environment: ServerEnvironment): Promise<ServerProcess> {
    if (!environment.DATA_DIR || !environment.JWT_SECRET) {
      throw new Error('ServerProcess.start needs DATA_DIR and JWT_SECRET');
    }
    if (!existsSync(SERVER_MAIN)) {
      throw new Error(`${SERVER_MAIN} is missing: run \`npx nest build\` first`);
    }
    const port = await findFreePort();
    const child = spawn(process.execPath, [SERVER_MAIN], {
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

  /** SIGTERM: the server drains and exits; SIGKILL if it has not after a while. */
  stop(): Promise<void> {
    return this.signalAndWait('SIGTERM');
  }

  /** SIGKILL, as a crash: nothing is flushed or closed. Resolves once the process is gone. */
  kill(): Promise<void> {
    return this.signalAndWait('SIGKILL');
  }

  private async waitUntilHealthy(): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (this.exit !== undefined || Date.now() > deadline) {
        await this.kill();
        throw new Error(
          `Server on port ${this.port} did not start (${this.exit ?? 'timed out'}): ${this.output.trim()}`,
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

  private async signalAndWait(signal: NodeJS.Signals): Promise<void> {
    process.removeListener('exit', this.killOnExit);
    if (this.child.exitCode !== null || this.child.signalCode !== null) {
      return;
    }
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = await Promise.race([
      exited.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), STOP_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
    if (gaveUp) {
      this.child.kill('SIGKILL');
      await exited;
    }
  }

  private keep(chunk: Buffer): void {
    this.output = (this.output + chunk.toString()).slice(-OUTPUT_KEPT);
  }
}

/** A port that was free a moment ago on 127.0.0.1. */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
