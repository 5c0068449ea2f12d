import { ChildProcess, spawn, StdioOptions } from 'node:child_process';
import { once } from 'node:events';
import { ResourceScope } from './resource-scope';

const STOP_GRACE_MS = 10_000;

/** Process groups started and not yet exited: the last resort if the runner dies abruptly. */
const liveGroups = new Set<number>();
process.once('exit', () => liveGroups.forEach((group) => signalGroup(group, 'SIGKILL')));

export interface PinnedProcessOptions {
  /** taskset's CPU list, e.g. SERVER_CORE. */
  cores: string;
  /** The whole environment of the process: nothing is inherited that is not named here. */
  env: Record<string, string>;
  stdio?: StdioOptions;
  cwd?: string;
}

/**
 * Starts `command` pinned to `cores`, in a process group of its own so that stopping it also
 * stops whatever it forked (cluster workers), and stops it when `scope` closes.
 */
export function spawnPinned(
  scope: ResourceScope,
  command: string,
  args: readonly string[],
  options: PinnedProcessOptions,
): ChildProcess {
  // taskset execs the command: the child's pid is the command's own, as /proc reads need.
  const child = spawn('taskset', ['-c', options.cores, command, ...args], {
    detached: true,
    stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'],
    env: options.env,
    cwd: options.cwd,
  });
  scope.add(() => stopProcessGroup(child));
  if (child.pid !== undefined) {
    const group = child.pid;
    liveGroups.add(group);
    child.once('exit', () => liveGroups.delete(group));
  }
  return child;
}

/** SIGTERM to the child's process group (so it can write a CPU profile), SIGKILL after a grace. */
export async function stopProcessGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM') {
  if (child.pid === undefined) {
    return;
  }
  const exited = hasExited(child) ? Promise.resolve() : once(child, 'exit').then(() => undefined);
  signalGroup(child.pid, signal);
  const timer = new Promise<'timeout'>((resolve) =>
    setTimeout(() => resolve('timeout'), STOP_GRACE_MS).unref(),
  );
  await Promise.race([exited, timer]);
  // Whatever is left of the group (a worker that outlived its primary) goes now.
  signalGroup(child.pid, 'SIGKILL');
}

export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone already.
  }
}
