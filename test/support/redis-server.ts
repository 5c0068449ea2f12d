import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

/** A redis-server of the test's own, on a port of its own: it can be stopped and restarted. */
export interface OwnRedisServer {
  port: number;
  url: string;
  /** Starts it (again) on the same port; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops it; resolves once the process has exited. */
  stop(): Promise<void>;
  /** Freezes it (SIGSTOP): connections stay open, commands get no answer. */
  pause(): void;
  /** Thaws it (SIGCONT): it answers everything it was sent meanwhile. */
  resume(): void;
}

const START_TIMEOUT_MS = 5_000;
const STOP_TIMEOUT_MS = 5_000;

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') {
    throw new Error('no port');
  }
  return address.port;
}

/** Needs `redis-server` on the PATH (it is, wherever `npm run test:services` runs). */
export async function ownRedisServer(): Promise<OwnRedisServer> {
  const port = await freePort();
  let child: ChildProcess | undefined;

  const start = async () => {
    if (child) {
      return;
    }
    const process = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = process;
    await new Promise<void>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => {
        process.kill('SIGKILL');
        reject(new Error(`redis-server did not start within ${START_TIMEOUT_MS} ms: ${output}`));
      }, START_TIMEOUT_MS);
      process.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      process.once('exit', (code) => {
        clearTimeout(timer);
        child = undefined;
        reject(new Error(`redis-server exited with ${code}: ${output}`));
      });
    });
  };

  const stop = async () => {
    const process = child;
    if (!process) {
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => process.kill('SIGKILL'), STOP_TIMEOUT_MS);
      process.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      process.kill('SIGTERM');
    });
    child = undefined;
  };

  const signal = (name: NodeJS.Signals) => {
    if (!child) {
      throw new Error('redis-server is not running');
    }
    child.kill(name);
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    start,
    stop: async () => {
      // A frozen process would not act on SIGTERM.
      child?.kill('SIGCONT');
      await stop();
    },
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
  };
}
