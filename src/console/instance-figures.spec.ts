import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { instanceFigures } from './instance-figures';
import { MetricReading } from './metric-reading';

const identity = {
  instanceId: 'host:1:abcd',
  host: 'host',
  pid: 1,
  startedAt: '2026-12-07T00:00:00.000Z',
};

function aRegistry() {
  const registry = new Registry();
  const metric = {
    requests: new Histogram({
      name: 'switchboard_http_request_duration_seconds',
      help: 'h',
      labelNames: ['route'],
      buckets: [0.001, 0.01, 0.1],
      registers: [registry],
    }),
    stored: new Counter({
      name: 'switchboard_messages_stored_total',
      help: 'h',
      labelNames: ['kind'],
      registers: [registry],
    }),
    hits: new Counter({ name: 'switchboard_cache_hits_total', help: 'h', registers: [registry] }),
    misses: new Counter({
      name: 'switchboard_cache_misses_total',
      help: 'h',
      registers: [registry],
    }),
    state: new Gauge({
      name: 'switchboard_instance_state',
      help: 'h',
      labelNames: ['state'],
      registers: [registry],
    }),
    dependency: new Gauge({
      name: 'switchboard_dependency_up',
      help: 'h',
      labelNames: ['dependency'],
      registers: [registry],
    }),
    breaker: new Gauge({
      name: 'switchboard_redis_breaker_open',
      help: 'h',
      registers: [registry],
    }),
  };
  return { registry, metric };
}

describe(instanceFigures.name, () => {
  it('gives totals as /metrics has them, and rates, quantiles and ratios over the interval', async () => {
    const { registry, metric } = aRegistry();
    metric.stored.inc({ kind: 'message' }, 10);
    metric.hits.inc(100);
    metric.requests.observe({ route: 'a' }, 0.0005);
    const before = await MetricReading.of(registry, 1_000);
    metric.stored.inc({ kind: 'message' }, 18);
    metric.stored.inc({ kind: 'edit' }, 2);
    metric.hits.inc(3);
    metric.misses.inc(1);
    for (let i = 0; i < 100; i++) {
      metric.requests.observe({ route: i % 2 ? 'a' : 'b' }, i < 98 ? 0.005 : 0.05);
    }

    const figures = instanceFigures(identity, await MetricReading.of(registry, 3_000), before);

    expect(figures).toMatchObject({
      ...identity,
      reportedAt: new Date(3_000).toISOString(),
      messagesStoredTotal: 30,
      messagesPerSecond: 10,
      requestsTotal: 101,
      requestsPerSecond: 50,
      cacheHitsTotal: 103,
      cacheMissesTotal: 1,
      cacheHitRatio: 0.75,
      commitP50Ms: null,
      commitP99Ms: null,
    });
    expect(figures.requestP50Ms).toBeGreaterThan(1);
    expect(figures.requestP50Ms).toBeLessThanOrEqual(10);
    expect(figures.requestP99Ms).toBeGreaterThan(10);
  });

  it('first report: totals, but no rate or quantile yet', async () => {
    const { registry, metric } = aRegistry();
    metric.stored.inc({ kind: 'message' }, 4);

    const figures = instanceFigures(identity, await MetricReading.of(registry), undefined);

    expect(figures).toMatchObject({
      messagesStoredTotal: 4,
      messagesPerSecond: 0,
      requestP50Ms: null,
      cacheHitRatio: null,
    });
  });

  it('reads state, dependencies and the breaker from their gauges; absent without Redis', async () => {
    const { registry, metric } = aRegistry();
    metric.state.set({ state: 'degraded' }, 1);
    metric.state.set({ state: 'ready' }, 0);
    metric.dependency.set({ dependency: 'database' }, 1);
    metric.dependency.set({ dependency: 'redis' }, 0);
    metric.breaker.set(1);

    expect(instanceFigures(identity, await MetricReading.of(registry), undefined)).toMatchObject({
      state: 'degraded',
      database: 'up',
      redis: 'down',
      breaker: 'open',
    });

    const bare = new Registry();
    expect(instanceFigures(identity, await MetricReading.of(bare), undefined)).toMatchObject({
      state: 'ready',
      redis: 'absent',
      breaker: 'absent',
    });
  });
});
