import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { histogramDelta, histogramQuantile, MetricReading } from './metric-reading';

describe(MetricReading.name, () => {
  const registry = new Registry();
  const requests = new Counter({
    name: 'requests_total',
    help: 'h',
    labelNames: ['route'],
    registers: [registry],
  });
  const up = new Gauge({ name: 'up_now', help: 'h', labelNames: ['what'], registers: [registry] });
  const latency = new Histogram({
    name: 'latency_seconds',
    help: 'h',
    labelNames: ['route'],
    buckets: [0.01, 0.1, 1],
    registers: [registry],
  });

  beforeEach(() => registry.resetMetrics());

  it('sums a metric over its label sets, or over those that match', async () => {
    requests.inc({ route: 'a' }, 2);
    requests.inc({ route: 'b' }, 3);
    up.set({ what: 'redis' }, 0);

    const reading = await MetricReading.of(registry);

    expect(reading.total('requests_total')).toBe(5);
    expect(reading.total('requests_total', { route: 'b' })).toBe(3);
    expect(reading.total('missing_total')).toBe(0);
    expect(reading.series('up_now', { what: 'redis' })).toBe(1);
    expect(reading.series('up_now', { what: 'database' })).toBe(0);
  });

  it('reads a histogram across label sets, +Inf included, and its gain between readings', async () => {
    latency.observe({ route: 'a' }, 0.005);
    const before = await MetricReading.of(registry);
    latency.observe({ route: 'a' }, 0.05);
    latency.observe({ route: 'b' }, 0.5);
    latency.observe({ route: 'b' }, 5);

    const now = (await MetricReading.of(registry)).histogram('latency_seconds');
    const gained = histogramDelta(now, before.histogram('latency_seconds'));

    expect(now.bounds).toEqual([0.01, 0.1, 1, Infinity]);
    expect(now.cumulative).toEqual([1, 2, 3, 4]);
    expect(now.count).toBe(4);
    expect(gained.cumulative).toEqual([0, 1, 2, 3]);
    expect(gained.count).toBe(3);
    expect(gained.sum).toBeCloseTo(5.55);
  });
});

describe(histogramQuantile.name, () => {
  const histogram = { bounds: [0.1, 1, Infinity], cumulative: [50, 90, 100], count: 100, sum: 0 };

  it('interpolates within the bucket that holds the rank, as histogram_quantile does', () => {
    expect(histogramQuantile(histogram, 0.5)).toBeCloseTo(0.1);
    expect(histogramQuantile(histogram, 0.25)).toBeCloseTo(0.05);
    expect(histogramQuantile(histogram, 0.7)).toBeCloseTo(0.55);
  });

  it('answers the highest finite bound for a rank in +Inf, and null when empty', () => {
    expect(histogramQuantile(histogram, 0.99)).toBe(1);
    expect(histogramQuantile({ ...histogram, cumulative: [0, 0, 0], count: 0 }, 0.5)).toBeNull();
  });
});
