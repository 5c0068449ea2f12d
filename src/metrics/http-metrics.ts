import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { MetricsService } from './metrics.service';

/** Latency buckets (seconds) from a cache hit (sub-millisecond) to a slow write. */
const DURATION_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];

/**
 * Times every HTTP answer, by route template (`/api/users/:id`, never the raw URL, which would
 * make one series per id) and status. A Fastify hook, so 404s, 413s and 429s count too.
 */
@Injectable()
export class HttpMetrics implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    const duration = this.metrics.histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by route template and status',
      labelNames: ['method', 'route', 'status_code'],
      buckets: DURATION_BUCKETS,
    });
    // One series per method, route template and status: a finite set, so its children are kept
    // instead of prom-client hashing the labels of every observation.
    const series = new Map<string, { observe(seconds: number): void }>();
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url ?? 'unmatched';
      const key = `${request.method} ${reply.statusCode} ${route}`;
      let child = series.get(key);
      if (!child) {
        child = duration.labels(request.method, route, String(reply.statusCode));
        series.set(key, child);
      }
      child.observe(reply.elapsedTime / 1000);
      done();
    });
  }
}
