import type { MetricObjectWithValues, MetricValue, Registry } from 'prom-client';

/** A histogram summed over its label sets: cumulative counts by upper bound, ascending. */
export interface HistogramReading {
  bounds: number[];
  cumulative: number[];
  count: number;
  sum: number;
}

/**
 * One read of the process's metrics registry, summed over label sets: what `/metrics` would have
 * said at that moment, in a form the console's figures are computed from.
 */
export class MetricReading {
  private constructor(
    readonly at: number,
    private readonly metrics: Map<string, MetricObjectWithValues<MetricValue<string>>>,
  ) {}

  static async of(registry: Registry, at = Date.now()): Promise<MetricReading> {
    const metrics = await registry.getMetricsAsJSON();
    // Copied: prom-client hands out its live value objects, which later increments change.
    return new MetricReading(
      at,
      new Map(
        metrics.map((metric) => [
          metric.name,
          { ...metric, values: metric.values.map((value) => ({ ...value })) },
        ]),
      ),
    );
  }

  has(name: string): boolean {
    return this.metrics.has(name);
  }

  /** The sum over the series whose labels include `labels`; 0 when there is no such metric. */
  total(name: string, labels: Record<string, string> = {}): number {
    let total = 0;
    for (const value of this.metrics.get(name)?.values ?? []) {
      if (matches(value.labels, labels)) {
        total += value.value;
      }
    }
    return total;
  }

  /** How many series of `name` have labels that include `labels`. */
  series(name: string, labels: Record<string, string> = {}): number {
    return (this.metrics.get(name)?.values ?? []).filter((value) => matches(value.labels, labels))
      .length;
  }

  histogram(name: string): HistogramReading {
    const byBound = new Map<number, number>();
    let count = 0;
    let sum = 0;
    for (const value of this.metrics.get(name)?.values ?? []) {
      const series = (value as MetricValue<string> & { metricName?: string }).metricName;
      if (series === `${name}_bucket`) {
        const bound = value.labels.le === '+Inf' ? Infinity : Number(value.labels.le);
        byBound.set(bound, (byBound.get(bound) ?? 0) + value.value);
      } else if (series === `${name}_count`) {
        count += value.value;
      } else if (series === `${name}_sum`) {
        sum += value.value;
      }
    }
    const bounds = [...byBound.keys()].sort((a, b) => a - b);
    return { bounds, cumulative: bounds.map((bound) => byBound.get(bound) ?? 0), count, sum };
  }
}

function matches(labels: Partial<Record<string, string | number>>, wanted: Record<string, string>) {
  return Object.entries(wanted).every(([key, value]) => String(labels[key]) === value);
}

/** What a histogram gained between two readings (same buckets, as prom-client keeps them). */
export function histogramDelta(now: HistogramReading, before: HistogramReading): HistogramReading {
  const earlier = new Map(before.bounds.map((bound, index) => [bound, before.cumulative[index]]));
  return {
    bounds: now.bounds,
    cumulative: now.bounds.map((bound, index) => now.cumulative[index] - (earlier.get(bound) ?? 0)),
    count: now.count - before.count,
    sum: now.sum - before.sum,
  };
}

/**
 * The q-quantile of a histogram, as Prometheus's `histogram_quantile` estimates it: linear within
 * the bucket that holds it; the highest finite bound when it falls in `+Inf`. Null when empty.
 */
export function histogramQuantile(histogram: HistogramReading, q: number): number | null {
  const total = histogram.count;
  if (total <= 0 || histogram.bounds.length === 0) {
    return null;
  }
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (let index = 0; index < histogram.bounds.length; index += 1) {
    const bound = histogram.bounds[index];
    const count = histogram.cumulative[index];
    if (count >= rank) {
      if (!Number.isFinite(bound)) {
        return lowerBound;
      }
      const inBucket = count - lowerCount;
      return inBucket <= 0
        ? bound
        : lowerBound + (bound - lowerBound) * ((rank - lowerCount) / inBucket);
    }
    lowerBound = Number.isFinite(bound) ? bound : lowerBound;
    lowerCount = count;
  }
  return lowerBound;
}
