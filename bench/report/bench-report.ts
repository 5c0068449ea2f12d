import { execFileSync } from 'node:child_process';
import { cpus, release } from 'node:os';
import { REPOSITORY_ROOT } from '@bench/support/paths';
import { Figure } from './figure';

/** A scenario that produced no figure: skipped (a service missing) or failed (the error). */
export interface ScenarioProblem {
  scenario: string;
  outcome: 'skipped' | 'failed';
  reason: string;
}

/** Where and how the figures were measured. */
export interface BenchMachine {
  date: string;
  commit: string;
  cpuModel: string;
  cores: number;
  kernel: string;
  node: string;
  loadGenerators: string;
  coreSplit: string;
}

/** Everything latest.json holds. */
export interface BenchReport {
  machine: BenchMachine;
  settings: { rounds: number; measureSeconds: number; warmupSeconds: number; quick: boolean };
  /** How the server under test was configured, in words. */
  serverConditions: string[];
  figures: Figure[];
  problems: ScenarioProblem[];
  durationSeconds: number;
}

export function describeMachine(wrkVersion: string): BenchMachine {
  return {
    date: new Date().toISOString(),
    commit: gitCommit(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    kernel: release(),
    node: process.version,
    loadGenerators: `wrk ${wrkVersion} (HTTP, Lua script bench/lua/bench-request.lua); Node ${process.version} + ws (WebSocket)`,
    coreSplit:
      'server under test and bare baselines pinned to core 0 (taskset -c 0), load generators to core 1; the cluster scenario shares both',
  };
}

function gitCommit(): string {
  try {
    const run = (...args: string[]) =>
      execFileSync('git', args, { cwd: REPOSITORY_ROOT, encoding: 'utf8' }).trim();
    const dirty = run('status', '--porcelain', '--untracked-files=no')
      ? ' (uncommitted changes)'
      : '';
    return `${run('rev-parse', '--short', 'HEAD')}${dirty}`;
  } catch {
    return 'unknown';
  }
}
