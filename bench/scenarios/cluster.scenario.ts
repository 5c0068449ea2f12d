import { bothSides, figureOf } from '@bench/report/figure';
import { createBenchDatabase, createBenchRedisPrefix } from '@bench/support/bench-databases';
import { ApiClient } from '@bench/support/api-client';
import { ALL_CORES } from '@bench/support/cores';
import { SwitchboardServer } from '@bench/support/switchboard-server';
import { readBesideBareFastify, roomHistoryRead, xCacheOf } from './http-read.scenarios';
import { Scenario } from './scenario';

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
    const samples = await readBesideBareFastify(context, server, request, {
      cores: ALL_CORES,
      loadCores: ALL_CORES,
      workers: WORKERS,
      connections: 100,
      threads: 2,
      answer: 'stored',
    });
    return [
      figureOf({
        scenario: 'cluster',
        id: 'cluster-cached-read',
        title: '`npm run start:cluster`, 2 workers, cached read (report)',
        unit: 'req/s',
        better: 'higher',
        ...bothSides(
          samples,
          '2-worker bare Fastify cluster sending the same stored bytes',
          undefined,
          'Switchboard cluster',
        ),
        notes: [
          'server workers and wrk (2 threads) share both cores: a report, not a target; server CPU is the primary and its workers, up to 200 %',
          `X-Cache after warming: ${cacheStates.join(', ')}`,
        ],
      }),
    ];
  },
};
