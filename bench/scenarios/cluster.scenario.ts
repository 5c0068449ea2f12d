import { figureOf } from '@bench/report/figure';
import { createBenchDatabase, createBenchRedisPrefix } from '@bench/support/bench-databases';
import { ApiClient } from '@bench/support/api-client';
import { ALL_CORES } from '@bench/support/cores';
import { SwitchboardServer } from '@bench/support/switchboard-server';
import { startBareFastify } from './baseline-processes';
import { READ_CONNECTIONS, roomHistoryRead, xCacheOf } from './http-read.scenarios';
import { interleavedRounds, Scenario } from './scenario';
import { wrkMeasurement } from './wrk-measurement';

const WORKERS = 2;

export const clusterCachedRead: Scenario = {
  name: 'cluster',
  describe:
    '`npm run start:cluster` (2 workers, PostgreSQL, Redis) on both cores, cached read, beside a 2-worker bare Fastify cluster',
  needs: ['postgresAdminUrl', 'redisUrl'],
  async run(context) {
    const { postgresAdminUrl = '', redisUrl = '' } = context.services;
    const server = await SwitchboardServer.start(context.scope, {
      cores: ALL_CORES,
      clusterWorkers: WORKERS,
      profile: context.settings.profile,
      environment: {
        DATABASE_URL: await createBenchDatabase(context.scope, postgresAdminUrl),
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: createBenchRedisPrefix(context.scope, redisUrl),
      },
    });
    const api = new ApiClient(server.url);
    const request = await roomHistoryRead(api);
    // Each worker answers from its own in-process tier once it has seen the page.
    const cacheStates = [await xCacheOf(api, request), await xCacheOf(api, request)];
    const sample = await api.call('GET', request.path, {
      token: request.user?.accessToken,
      expect: 200,
    });
    const baseline = await startBareFastify(
      context.scope,
      [{ url: request.path, body: JSON.parse(sample.text) }],
      ALL_CORES,
      WORKERS,
    );
    const load = {
      method: 'GET' as const,
      paths: [request.path],
      token: request.user?.accessToken,
      connections: READ_CONNECTIONS * 2,
      threads: 2,
      cores: ALL_CORES,
    };
    const samples = await interleavedRounds(context, {
      switchboard: wrkMeasurement(context, server.pid, { ...load, baseUrl: server.url }),
      baseline: wrkMeasurement(context, baseline.pid, { ...load, baseUrl: baseline.url }),
    });
    return [
      figureOf({
        scenario: 'cluster',
        id: 'cluster-cached-read',
        title: '`npm run start:cluster`, 2 workers, cached read (report)',
        unit: 'req/s',
        better: 'higher',
        switchboard: { title: 'Switchboard cluster', samples: samples.switchboard },
        baseline: { title: '2-worker bare Fastify cluster', samples: samples.baseline },
        notes: [
          'server workers and wrk (2 threads) share both cores: a report, not a target; server CPU is the primary and its workers, up to 200 %',
          `X-Cache after warming: ${cacheStates.join(', ')}`,
        ],
      }),
    ];
  },
};
