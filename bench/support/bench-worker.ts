import { ChildProcess } from 'node:child_process';
import { ResourceScope } from './resource-scope';
import { compiledScript } from './paths';
import { hasExited, spawnPinned } from './pinned-process';
import type { WorkerReply, WorkerRequest } from './worker-protocol';

/**
 * A bench process of our own (a bare baseline or a load generator) pinned to a core, driven by
 * request/reply messages over the IPC channel. It stays up across rounds, so a baseline keeps its
 * warm JIT and open sockets as the server under test does.
 */
export class BenchWorker {
  private nextId = 1;
  private readonly pending = new Map<number, (reply: WorkerReply) => void>();
  private stderrTail = '';

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (reply: WorkerReply) => {
      this.pending.get(reply.id)?.(reply);
      this.pending.delete(reply.id);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-4000);
    });
    child.once('exit', (code, signal) => {
      const failure: WorkerReply = {
        id: 0,
        error: `worker exited (${code ?? signal}): ${this.stderrTail.trim()}`,
      };
      this.pending.forEach((settle) => settle(failure));
      this.pending.clear();
    });
  }

  /**
   * @param script a compiled bench script, e.g. `baselines/bare-ws`
   * @param extraNodeFlags e.g. a larger heap for a process holding thousands of sockets
   */
  static start(
    scope: ResourceScope,
    script: string,
    cores: string,
    extraNodeFlags: readonly string[] = [],
  ): BenchWorker {
    const child = spawnPinned(
      scope,
      process.execPath,
      [...extraNodeFlags, compiledScript(script)],
      {
        cores,
        env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production' },
        stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      },
    );
    return new BenchWorker(child);
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** Sends one command and resolves with the worker's result; rejects on its error or exit. */
  request<Result>(command: string, payload: object = {}, timeoutMs = 120_000): Promise<Result> {
    if (hasExited(this.child)) {
      return Promise.reject(new Error(`worker ${this.pid} is gone: ${this.stderrTail.trim()}`));
    }
    const id = this.nextId++;
    const message: WorkerRequest = { id, command, payload };
    return new Promise<Result>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`worker ${this.pid}: "${command}" took over ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, (reply) => {
        clearTimeout(timer);
        if (reply.error !== undefined) {
          reject(new Error(`worker ${this.pid}: "${command}" failed: ${reply.error}`));
        } else {
          resolve(reply.result as Result);
        }
      });
      this.child.send(message);
    });
  }
}
