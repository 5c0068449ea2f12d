import { ChildProcess, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { acceptsConnections, findFreePort } from './network';
import { settlesWithin, sleep } from './wait-until';

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5000;

/**
 * A redis-server of the test's own, on a free port of 127.0.0.1, without persistence: a suite
 * can kill it and start it again on the same port to play a Redis restart. Stop it in afterAll.
 */
export class RedisServerProcess {
  private child: ChildProcess | undefined;
  private readonly killOnExit = () => this.child?.kill('SIGKILL');

  private constructor(readonly port: number) {}

  static async start(): Promise<RedisServerProcess> {
    const server = new RedisServerProcess(await findFreePort());
    await server.start();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts redis-server (unless it runs) and resolves once it accepts connections. */
  async start(): Promise<void> {
    if (this.child) {
      return;
    }
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { cwd: tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    process.once('exit', this.killOnExit);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    let exited: string | undefined;
    child.once('error', (error) => (exited = error.message));
    child.once('exit', (code, signal) => (exited ??= `exited with ${code ?? signal}`));

    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!(await acceptsConnections(this.port))) {
      if (exited !== undefined || Date.now() > deadline) {
        await this.stop();
        throw new Error(
          `redis-server on port ${this.port} did not start (${exited ?? 'timed out'}): ${output.trim()}`,
        );
      }
      await sleep(50);
    }
  }

  /** Kills redis-server at once (as a crash would) and waits until it has exited. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    process.removeListener('exit', this.killOnExit);
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      return;
    }
    const exited = new Promise((resolve) => child.once('exit', resolve));
    // SIGKILL acts on a frozen (SIGSTOP) process too.
    child.kill('SIGKILL');
    await settlesWithin(exited, STOP_TIMEOUT_MS);
  }

  /** Freezes it (SIGSTOP): connections stay open, commands get no answer. */
  pause(): void {
    this.signal('SIGSTOP');
  }

  /** Thaws it (SIGCONT): it answers everything it was sent meanwhile. */
  resume(): void {
    this.signal('SIGCONT');
  }

  private signal(name: NodeJS.Signals): void {
    if (!this.child) {
      throw new Error(`redis-server on port ${this.port} is not running`);
    }
    this.child.kill(name);
  }
}
