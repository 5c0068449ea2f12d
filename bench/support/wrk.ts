import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { ResourceScope } from './resource-scope';
import { WRK_SCRIPT } from './paths';
import { spawnPinned } from './pinned-process';

export interface WrkLoad {
  /** e.g. http://127.0.0.1:43210 */
  baseUrl: string;
  method: 'GET' | 'POST';
  /** Taken in turn, one per request (e.g. one per room). */
  paths: readonly string[];
  token?: string;
  connections: number;
  threads: number;
  seconds: number;
  cores: string;
}

export interface WrkResult {
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  /** Answers outside 2xx/3xx (wrk counts 3xx as success; the bench routes never redirect). */
  non2xx: number;
  /** connect, read, write errors and timeouts. */
  socketErrors: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
}

const RESULT_LINE = /^BENCH_RESULT (\{.*\})$/m;

/** Stops the bench with an instruction when wrk is not installed. */
export function requireWrk(): void {
  const probe = spawnSync('wrk', ['-v'], { encoding: 'utf8' });
  if (probe.error) {
    throw new Error('wrk is not installed: apt-get install wrk');
  }
}

/** The version line wrk prints, for the report. */
export function wrkVersion(): string {
  const probe = spawnSync('wrk', ['-v'], { encoding: 'utf8' });
  return (/wrk (\S+)/.exec(`${probe.stdout}${probe.stderr}`)?.[1] ?? 'unknown').trim();
}

/** Runs wrk pinned to `load.cores` with bench/lua/bench-request.lua and reads its summary. */
export async function runWrk(scope: ResourceScope, load: WrkLoad): Promise<WrkResult> {
  const nonce = randomBytes(4).toString('hex');
  const args = [
    `-t${load.threads}`,
    `-c${load.connections}`,
    `-d${load.seconds}s`,
    '--timeout',
    '10s',
    '-s',
    WRK_SCRIPT,
    load.baseUrl,
    '--',
    load.method,
    load.token ?? '-',
    nonce,
    load.paths.join(','),
  ];
  const child = spawnPinned(scope, 'wrk', args, {
    cores: load.cores,
    env: { PATH: process.env.PATH ?? '' },
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await once(child, 'exit');
  const line = RESULT_LINE.exec(output)?.[1];
  if (!line) {
    throw new Error(`wrk gave no result: ${output.trim()}`);
  }
  const raw = JSON.parse(line) as {
    requests: number;
    durationUs: number;
    non2xx: number;
    socketErrors: number;
    latencyP50Us: number;
    latencyP99Us: number;
  };
  const seconds = raw.durationUs / 1e6;
  return {
    requests: raw.requests,
    seconds,
    requestsPerSecond: raw.requests / seconds,
    non2xx: raw.non2xx,
    socketErrors: raw.socketErrors,
    latencyP50Ms: raw.latencyP50Us / 1000,
    latencyP99Ms: raw.latencyP99Us / 1000,
  };
}
