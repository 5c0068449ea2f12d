import type { BareRoute } from '@bench/baselines/bare-fastify';
import { BenchWorker } from '@bench/support/bench-worker';
import { findFreePort } from '@bench/support/network';
import { ResourceScope } from '@bench/support/resource-scope';

/** A bare baseline server: where it listens and the pid whose CPU is read. */
export interface BaselineServer {
  url: string;
  pid: number;
}

/** Bare Fastify answering `routes` (see baselines/bare-fastify.ts); `workers` > 1: a cluster. */
export async function startBareFastify(
  scope: ResourceScope,
  routes: BareRoute[],
  cores: string,
  workers = 1,
): Promise<BaselineServer> {
  const worker = BenchWorker.start(scope, 'baselines/bare-fastify', cores);
  const port = await findFreePort();
  await worker.request('listen', { port, routes, workers });
  return { url: `http://127.0.0.1:${port}`, pid: worker.pid };
}

/**
 * Bare Fastify running Switchboard's history query on the server's own SQLite file, answering
 * in the shape of `sample` (see baselines/bare-history-read.ts).
 */
export async function startBareHistoryRead(
  scope: ResourceScope,
  databasePath: string,
  sample: unknown,
  cores: string,
): Promise<BaselineServer> {
  const worker = BenchWorker.start(scope, 'baselines/bare-history-read', cores);
  const port = await findFreePort();
  await worker.request('listen', { port, databasePath, sample });
  return { url: `http://127.0.0.1:${port}`, pid: worker.pid };
}

/** The bare `ws` server (see baselines/bare-ws.ts). */
export async function startBareWs(
  scope: ResourceScope,
  cores: string,
  nodeFlags: string[] = [],
): Promise<BaselineServer> {
  const worker = BenchWorker.start(scope, 'baselines/bare-ws', cores, nodeFlags);
  const { port } = await worker.request<{ port: number }>('listen');
  return { url: `http://127.0.0.1:${port}`, pid: worker.pid };
}
