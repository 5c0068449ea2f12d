/** One instance at one sample. */
export interface InstanceSample {
  heapUsedBytes: number;
  rssBytes: number;
  openFds: number;
  /** prom-client's event-loop delay p99 since the previous scrape. */
  eventLoopP99Ms: number;
  /** switchboard_ws_connections, switchboard_ws_rooms_live and each switchboard_ws_registry_entries{registry}. */
  registries: Record<string, number>;
}

export type SamplePhase = 'start' | 'warm-up' | 'load' | 'settled';

export interface SoakSample {
  /** Seconds since the load started (negative or 0 before it). */
  at: number;
  phase: SamplePhase;
  instances: InstanceSample[];
  /** The load's p99 over the window since the previous sample, ms; NaN with no answers. */
  httpP99Ms: number;
  wsAckP99Ms: number;
  /** Operations a second in the window, all kinds together. */
  opsPerSecond: number;
  errors: number;
  redisUsedMemoryBytes: number;
}

export interface Growth {
  instance: number;
  metric: 'heap' | 'rss';
  /** Lower envelope: the smallest sample of the first window after the warm-up … */
  startBytes: number;
  /** … and of the last window of the run. */
  endBytes: number;
  percent: number;
  /** Least-squares slope over every sample after the warm-up, as % of startBytes over that span. */
  slopePercent: number;
  windowSamples: number;
}

/** Heap and RSS of each instance right after a full collection forced through its inspector. */
export interface FullGcSnapshot {
  at: number;
  instances: { heapUsedBytes: number; rssBytes: number }[];
}

export interface Check {
  name: string;
  passed: boolean;
  detail: string;
}

/**
 * A window spans at least this long: a major collection's cycle at this load (about a minute),
 * so that its minimum is a floor the collector reached, not a point on the way up.
 */
const MIN_WINDOW_SECONDS = 60;

/**
 * Growth of heap and RSS after the warm-up, as the lower envelope sees it: the minimum of the
 * first fifth of the samples after the warm-up against the minimum of the last fifth (each at
 * least MIN_WINDOW_SECONDS, at most half the samples). The minimum of a window is where a GC last
 * brought the heap down, so the sawtooth between collections does not read as growth; a leak
 * lifts the floor.
 */
export function memoryGrowth(samples: readonly SoakSample[], sampleSeconds = 10): Growth[] {
  const loaded = samples.filter((sample) => sample.phase === 'load');
  if (loaded.length === 0) {
    return [];
  }
  const window = Math.max(
    1,
    Math.min(
      Math.floor(loaded.length / 2),
      Math.max(Math.ceil(MIN_WINDOW_SECONDS / sampleSeconds), Math.floor(loaded.length / 5)),
    ),
  );
  const first = loaded.slice(0, window);
  const last = loaded.slice(-window);
  return loaded[0].instances.flatMap((_, instance) =>
    (['heap', 'rss'] as const).map((metric): Growth => {
      const value = (sample: SoakSample) =>
        metric === 'heap'
          ? sample.instances[instance].heapUsedBytes
          : sample.instances[instance].rssBytes;
      const startBytes = Math.min(...first.map(value));
      const endBytes = Math.min(...last.map(value));
      const span = loaded.at(-1)!.at - loaded[0].at;
      return {
        instance,
        metric,
        startBytes,
        endBytes,
        percent: (100 * (endBytes - startBytes)) / startBytes,
        slopePercent:
          (100 * slope(loaded.map((sample) => [sample.at, value(sample)])) * span) / startBytes,
        windowSamples: window,
      };
    }),
  );
}

/**
 * Growth between two forced full collections (end of the warm-up, end of the load): what is
 * still referenced, which no sawtooth can blur; RSS read right after each, when the collector has
 * just given back what it could.
 */
export function fullGcGrowth(
  afterWarmUp: FullGcSnapshot,
  end: FullGcSnapshot,
): {
  instance: number;
  metric: 'heap' | 'rss';
  startBytes: number;
  endBytes: number;
  percent: number;
}[] {
  return afterWarmUp.instances.flatMap((before, instance) =>
    (['heap', 'rss'] as const).map((metric) => {
      const startBytes = metric === 'heap' ? before.heapUsedBytes : before.rssBytes;
      const after = end.instances[instance];
      const endBytes = metric === 'heap' ? after.heapUsedBytes : after.rssBytes;
      return {
        instance,
        metric,
        startBytes,
        endBytes,
        percent: (100 * (endBytes - startBytes)) / startBytes,
      };
    }),
  );
}

/** The least-squares slope of y over x; 0 for fewer than two points. */
export function slope(points: readonly [number, number][]): number {
  if (points.length < 2) {
    return 0;
  }
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / points.length;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / points.length;
  const covariance = points.reduce((sum, [x, y]) => sum + (x - meanX) * (y - meanY), 0);
  const variance = points.reduce((sum, [x]) => sum + (x - meanX) ** 2, 0);
  return variance === 0 ? 0 : covariance / variance;
}

/**
 * Rate-limit windows are kept per client address, not per connection: one ended window of each
 * address the load came from may wait for the next request of anyone to be forgotten.
 */
export const PER_CLIENT_REGISTRIES = ['http_throttle_windows', 'ws_connect_limit_windows'];
/** The load comes from 127.0.0.1 alone. */
export const CLIENT_ADDRESSES = 1;

/**
 * What a connection leaves behind once it is gone: each instance's open fds (within `fdTolerance`,
 * the database pool's connections) and every registry size against the start: exactly, but for
 * the windows per client address (at most one per address).
 */
export function leftBehind(
  start: InstanceSample,
  settled: InstanceSample,
  fdTolerance: number,
): { fds: number; registries: Record<string, number>; clean: boolean } {
  const registries: Record<string, number> = {};
  for (const name of new Set([
    ...Object.keys(start.registries),
    ...Object.keys(settled.registries),
  ])) {
    registries[name] = (settled.registries[name] ?? 0) - (start.registries[name] ?? 0);
  }
  const fds = settled.openFds - start.openFds;
  return {
    fds,
    registries,
    clean:
      fds <= fdTolerance &&
      Object.entries(registries).every(([name, delta]) =>
        PER_CLIENT_REGISTRIES.includes(name) ? delta <= CLIENT_ADDRESSES : delta === 0,
      ),
  };
}

/** The pass/fail lines of a run. */
export function soakChecks(
  samples: readonly SoakSample[],
  options: { maxGrowthPercent: number; fdTolerance: number; sampleSeconds?: number },
  loadErrors: number,
  fullGc: { afterWarmUp?: FullGcSnapshot; end?: FullGcSnapshot },
): Check[] {
  const checks: Check[] = [];
  const envelope = memoryGrowth(samples, options.sampleSeconds);
  if (!fullGc.afterWarmUp || !fullGc.end) {
    checks.push({
      name: 'heap and RSS after the warm-up',
      passed: false,
      detail: 'no full collection at the end of the warm-up and of the load',
    });
  } else {
    for (const one of fullGcGrowth(fullGc.afterWarmUp, fullGc.end)) {
      const sampled = envelope.find(
        (other) => other.instance === one.instance && other.metric === one.metric,
      );
      checks.push({
        name: `instance ${one.instance} ${one.metric} growth after the warm-up`,
        passed: one.percent < options.maxGrowthPercent,
        detail: `${mb(one.startBytes)} → ${mb(one.endBytes)} MB after a full GC (${signed(one.percent)} %, limit ${options.maxGrowthPercent} %)${
          sampled
            ? `; sampled lower envelope ${mb(sampled.startBytes)} → ${mb(sampled.endBytes)} MB (${signed(sampled.percent)} %), slope ${signed(sampled.slopePercent)} %`
            : ''
        }`,
      });
    }
  }
  const start = samples.find((sample) => sample.phase === 'start');
  const settled = samples.findLast((sample) => sample.phase === 'settled');
  if (!start || !settled) {
    checks.push({
      name: 'nothing left per connection',
      passed: false,
      detail: `no ${start ? 'settled' : 'start'} sample`,
    });
  } else {
    start.instances.forEach((before, instance) => {
      const left = leftBehind(before, settled.instances[instance], options.fdTolerance);
      const grown = Object.entries(left.registries).filter(([, delta]) => delta !== 0);
      const perClient = `${PER_CLIENT_REGISTRIES.join(' and ')} at most +${CLIENT_ADDRESSES} (per client address)`;
      checks.push({
        name: `instance ${instance}: fds and registries back to the start`,
        passed: left.clean,
        detail: `fds ${before.openFds} → ${settled.instances[instance].openFds} (${signed(left.fds)}, tolerance ${options.fdTolerance}); ${
          grown.length === 0
            ? `${Object.keys(left.registries).length} registries as at the start`
            : grown.map(([name, delta]) => `${name} ${signed(delta)}`).join(', ')
        }; ${perClient}`,
      });
    });
  }
  checks.push({
    name: 'no errors seen by the load',
    passed: loadErrors === 0,
    detail: String(loadErrors),
  });
  return checks;
}

export const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
const signed = (value: number) =>
  `${value >= 0 ? '+' : ''}${Number.isInteger(value) ? value : value.toFixed(2)}`;
