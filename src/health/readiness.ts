import { Inject, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckResult, HealthCheckService, HealthIndicatorFunction } from '@nestjs/terminus';
import { APP_CONFIG, AppConfig, usesRedis } from '@config';
import { BusHealthIndicator } from './bus-health.indicator';
import { CacheHealthIndicator } from './cache-health.indicator';
import { DatabaseHealthIndicator } from './database-health.indicator';
import { DrainState } from './drain-state';

/** Terminus's result plus `degraded`: the dependencies up but running without a backing service. */
export type ReadinessResult = HealthCheckResult & { degraded: string[] };

export interface ReadinessReport {
  /** What `/health/ready` answers: 200 or 503. */
  httpStatus: 200 | 503;
  result: ReadinessResult;
}

/** An instance's state as a load balancer sees it (`switchboard_instance_state{state}`). */
export type InstanceState = 'ready' | 'degraded' | 'draining' | 'not_ready';

export const INSTANCE_STATES: readonly InstanceState[] = [
  'ready',
  'degraded',
  'draining',
  'not_ready',
];

/**
 * Readiness, evaluated in one place for `/health/ready` and the metrics: the database answers;
 * with Redis, the bus and the cache are reported too, `degraded` while Redis is away (the
 * instance serves every request from the database, so it stays ready); from SIGTERM on,
 * `shutting_down`.
 */
@Injectable()
export class Readiness {
  /** The evaluation running now: callers at the same moment (a scrape's gauges) share it. */
  private running: Promise<ReadinessReport> | undefined;

  constructor(
    private readonly health: HealthCheckService,
    private readonly database: DatabaseHealthIndicator,
    private readonly bus: BusHealthIndicator,
    private readonly cache: CacheHealthIndicator,
    private readonly drain: DrainState,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async evaluate(): Promise<ReadinessReport> {
    if (this.drain.draining) {
      return {
        httpStatus: 503,
        result: withDegradedList({ status: 'shutting_down', details: {} }),
      };
    }
    const checks: HealthIndicatorFunction[] = [() => this.database.check('database')];
    if (usesRedis(this.config)) {
      checks.push(() => this.bus.check('bus'));
      checks.push(() => this.cache.check('cache'));
    }
    try {
      return { httpStatus: 200, result: withDegradedList(await this.health.check(checks)) };
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) {
        throw error;
      }
      return {
        httpStatus: 503,
        result: withDegradedList(error.getResponse() as HealthCheckResult),
      };
    }
  }

  /** `evaluate()`, joining one already running. */
  evaluateShared(): Promise<ReadinessReport> {
    this.running ??= this.evaluate().finally(() => (this.running = undefined));
    return this.running;
  }
}

/** The state a report stands for. */
export function instanceStateOf({ httpStatus, result }: ReadinessReport): InstanceState {
  if (result.status === 'shutting_down') {
    return 'draining';
  }
  if (httpStatus !== 200) {
    return 'not_ready';
  }
  return result.degraded.length > 0 ? 'degraded' : 'ready';
}

function withDegradedList(result: HealthCheckResult): ReadinessResult {
  const degraded = Object.entries(result.details)
    .filter(([, detail]) => (detail as { degraded?: boolean }).degraded === true)
    .map(([name]) => name);
  return { ...result, degraded };
}
