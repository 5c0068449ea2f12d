// What the operator console sees: one report per instance, and the fleet as one view. The server
// sends `fleet` frames of this shape on `/ws`, and `GET /api/console/fleet` answers with it.

/** The most instances a fleet view holds; reports of further ones are ignored. */
export const MAX_FLEET_INSTANCES = 1_000;
/** Longest `instanceId` (and `host`) a report may carry. */
export const INSTANCE_ID_MAX_LENGTH = 300;

/** An instance's readiness, as `/health/ready` decides it. */
export type InstanceState = 'ready' | 'degraded' | 'draining' | 'not_ready';

/**
 * One instance's figures at `reportedAt`. Each `…Total` and each gauge is the value the
 * instance's `/metrics` gave at that moment; rates, quantiles and ratios cover the interval since
 * its previous report.
 */
export interface InstanceFigures {
  instanceId: string;
  host: string;
  pid: number;
  startedAt: string;
  reportedAt: string;
  /** No report for three intervals: shown, but probably gone. */
  stale: boolean;
  state: InstanceState;
  database: 'up' | 'down';
  redis: 'up' | 'down' | 'absent';
  breaker: 'closed' | 'open' | 'absent';
  connections: number;
  roomsLive: number;
  messagesPerSecond: number;
  requestsPerSecond: number;
  messagesStoredTotal: number;
  requestsTotal: number;
  /** p50 and p99 over the last report interval in ms; null when there was nothing to measure. */
  requestP50Ms: number | null;
  requestP99Ms: number | null;
  commitP50Ms: number | null;
  commitP99Ms: number | null;
  groupCommitMeanBatch: number | null;
  cacheHitRatio: number | null;
  cacheHitsTotal: number;
  cacheMissesTotal: number;
  throttledTotal: number;
  shedTotal: number;
  slowConsumersDroppedTotal: number;
  seqGapsTotal: number;
  heapUsedBytes: number;
  rssBytes: number;
  eventLoopDelayP99Ms: number;
  openFds: number | null;
}

/** Every instance that reported lately, by `instanceId`. */
export interface FleetView {
  generatedAt: string;
  instances: InstanceFigures[];
}
