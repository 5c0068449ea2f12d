import type { InstanceFigures, InstanceState } from '@libs/protocol';
import {
  histogramDelta,
  histogramQuantile,
  HistogramReading,
  MetricReading,
} from './metric-reading';

/** Who the instance is: fixed for its life. */
export interface InstanceIdentity {
  instanceId: string;
  host: string;
  pid: number;
  startedAt: string;
}

const INSTANCE_STATES: readonly InstanceState[] = ['draining', 'not_ready', 'degraded', 'ready'];

/**
 * The console's figures for one instance from two readings of its metrics: `now` gives every
 * total and gauge (what `/metrics` said), the difference from `before` every rate, quantile and
 * ratio. Without `before` (the first report), rates are 0 and quantiles null.
 */
export function instanceFigures(
  identity: InstanceIdentity,
  now: MetricReading,
  before: MetricReading | undefined,
): InstanceFigures {
  const seconds = before ? Math.max((now.at - before.at) / 1000, 0.001) : 0;
  const rate = (total: (reading: MetricReading) => number) =>
    before ? Math.max(total(now) - total(before), 0) / seconds : 0;
  const requests = (reading: MetricReading) =>
    reading.histogram('switchboard_http_request_duration_seconds').count;
  const stored = (reading: MetricReading) => reading.total('switchboard_messages_stored_total');
  const hits = now.total('switchboard_cache_hits_total');
  const misses = now.total('switchboard_cache_misses_total');
  const lookups = before
    ? hits +
      misses -
      before.total('switchboard_cache_hits_total') -
      before.total('switchboard_cache_misses_total')
    : 0;
  const batches = interval(now, before, 'switchboard_group_commit_batch_size');
  return {
    ...identity,
    reportedAt: new Date(now.at).toISOString(),
    stale: false,
    state: stateOf(now),
    database:
      now.total('switchboard_dependency_up', { dependency: 'database' }) > 0 ||
      !now.has('switchboard_dependency_up')
        ? 'up'
        : 'down',
    redis: !hasSeries(now, 'switchboard_dependency_up', { dependency: 'redis' })
      ? 'absent'
      : now.total('switchboard_dependency_up', { dependency: 'redis' }) > 0
        ? 'up'
        : 'down',
    breaker: !now.has('switchboard_redis_breaker_open')
      ? 'absent'
      : now.total('switchboard_redis_breaker_open') > 0
        ? 'open'
        : 'closed',
    connections: now.total('switchboard_ws_connections'),
    roomsLive: now.total('switchboard_ws_rooms_live'),
    messagesPerSecond: rate(stored),
    requestsPerSecond: rate(requests),
    messagesStoredTotal: stored(now),
    requestsTotal: requests(now),
    ...quantilesMs('request', interval(now, before, 'switchboard_http_request_duration_seconds')),
    ...quantilesMs('commit', interval(now, before, 'switchboard_commit_duration_seconds')),
    groupCommitMeanBatch: batches && batches.count > 0 ? batches.sum / batches.count : null,
    cacheHitRatio:
      before && lookups > 0
        ? (hits - before.total('switchboard_cache_hits_total')) / lookups
        : null,
    cacheHitsTotal: hits,
    cacheMissesTotal: misses,
    throttledTotal: now.total('switchboard_http_requests_throttled_total'),
    shedTotal: now.total('switchboard_http_requests_shed_total'),
    slowConsumersDroppedTotal: now.total('switchboard_ws_slow_consumers_dropped_total'),
    seqGapsTotal: now.total('switchboard_live_seq_gaps_total'),
    heapUsedBytes: now.total('nodejs_heap_size_used_bytes'),
    rssBytes: now.total('process_resident_memory_bytes'),
    eventLoopDelayP99Ms: now.total('nodejs_eventloop_lag_p99_seconds') * 1000,
    openFds: now.has('process_open_fds') ? now.total('process_open_fds') : null,
  };
}

/** The one-hot `switchboard_instance_state`; ready when the metric is not there. */
function stateOf(reading: MetricReading): InstanceState {
  return (
    INSTANCE_STATES.find((state) => reading.total('switchboard_instance_state', { state }) > 0) ??
    'ready'
  );
}

function hasSeries(reading: MetricReading, name: string, labels: Record<string, string>): boolean {
  return reading.series(name, labels) > 0;
}

/** The histogram's observations since `before`; undefined on the first report. */
function interval(
  now: MetricReading,
  before: MetricReading | undefined,
  name: string,
): HistogramReading | undefined {
  return before ? histogramDelta(now.histogram(name), before.histogram(name)) : undefined;
}

function quantilesMs<P extends 'request' | 'commit'>(
  prefix: P,
  histogram: HistogramReading | undefined,
): Record<`${P}P50Ms` | `${P}P99Ms`, number | null> {
  const inMs = (q: number) => {
    const seconds = histogram && histogramQuantile(histogram, q);
    return seconds == null ? null : seconds * 1000;
  };
  return { [`${prefix}P50Ms`]: inMs(0.5), [`${prefix}P99Ms`]: inMs(0.99) } as Record<
    `${P}P50Ms` | `${P}P99Ms`,
    number | null
  >;
}
