import { Controller, Get, Inject, Res, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckResult, HealthCheckService, HealthIndicatorFunction } from '@nestjs/terminus';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import type { FastifyReply } from 'fastify';
import { APP_CONFIG, AppConfig, usesRedis } from '@config';
import { Public } from '@app/auth/authenticated.decorator';
import { BusHealthIndicator } from './bus-health.indicator';
import { CacheHealthIndicator } from './cache-health.indicator';
import { DatabaseHealthIndicator } from './database-health.indicator';
import { DrainState } from './drain-state';
import { liveness } from './liveness';

const DEPENDENCIES = ['database', 'bus', 'cache'];

const LIVENESS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['status'],
  properties: { status: { type: 'string', enum: ['ok'] } },
};
/** Terminus's result, by dependency, plus the ones running degraded. */
const DEPENDENCY_MAP = {
  type: 'object',
  additionalProperties: {
    type: 'object',
    properties: { status: { type: 'string', enum: ['up', 'down'] } },
  },
};
const READINESS_SCHEMA = {
  type: 'object',
  required: ['status', 'details', 'degraded'],
  properties: {
    status: { type: 'string', enum: ['ok', 'error', 'shutting_down'] },
    info: DEPENDENCY_MAP,
    error: DEPENDENCY_MAP,
    details: DEPENDENCY_MAP,
    degraded: {
      type: 'array',
      maxItems: DEPENDENCIES.length,
      items: { type: 'string', enum: DEPENDENCIES },
    },
  },
};

/** Outside `/api`: load balancers and orchestrators probe these. */
@Controller('health')
// Probes for load balancers and orchestrators: documented, but left out of the generated client.
@ApiTags('health')
@Public()
@SkipThrottle()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: DatabaseHealthIndicator,
    private readonly bus: BusHealthIndicator,
    private readonly cache: CacheHealthIndicator,
    private readonly drain: DrainState,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Liveness: the process answers. */
  @Get()
  @ApiOkResponse({ description: 'The process answers', schema: LIVENESS_SCHEMA })
  checkLiveness(): { status: 'ok' } {
    // GET is answered before routing (LivenessBeforeRouting); this serves HEAD and the document.
    return liveness();
  }

  /**
   * Readiness: the database answers (503 naming it otherwise, so that a load balancer steers
   * away; a pool busy with application queries is up, `busy: true`). With Redis, the bus and the
   * cache are reported too, and listed in `degraded` while Redis is away: the instance still
   * serves every request from the database, so it stays ready.
   * From SIGTERM on: 503 `shutting_down`, while the other routes still serve (the drain delay).
   */
  @Get('ready')
  @ApiOkResponse({ description: 'Ready', schema: READINESS_SCHEMA })
  @ApiServiceUnavailableResponse({
    description:
      'Not ready (the database is down), draining for a shutdown (`shutting_down`), or shedding load (with Retry-After)',
    schema: { oneOf: [READINESS_SCHEMA, { $ref: '#/components/schemas/ErrorResponse' }] },
  })
  async checkReadiness(
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<HealthCheckResult> {
    if (this.drain.draining) {
      reply.status(503);
      return withDegradedList({ status: 'shutting_down', details: {} });
    }
    const checks: HealthIndicatorFunction[] = [() => this.database.check('database')];
    if (usesRedis(this.config)) {
      checks.push(() => this.bus.check('bus'));
      checks.push(() => this.cache.check('cache'));
    }
    try {
      return withDegradedList(await this.health.check(checks));
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) {
        throw error;
      }
      reply.status(error.getStatus());
      return withDegradedList(error.getResponse() as HealthCheckResult);
    }
  }
}

/** Readiness plus `degraded`: the dependencies that are up but running without a backing service. */
function withDegradedList(result: HealthCheckResult): HealthCheckResult & { degraded: string[] } {
  const degraded = Object.entries(result.details)
    .filter(([, detail]) => (detail as { degraded?: boolean }).degraded === true)
    .map(([name]) => name);
  return { ...result, degraded };
}
