import { Controller, Get, Inject, Res, ServiceUnavailableException } from '@nestjs/common';
import {
  HealthCheckResult,
  HealthCheckService,
  HealthIndicatorFunction,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import { ApiExcludeController } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import type { FastifyReply } from 'fastify';
import { APP_CONFIG, AppConfig } from '@config';
import { Public } from '@app/auth/authenticated.decorator';
import { BusHealthIndicator } from './bus-health.indicator';

const DEPENDENCY_TIMEOUT_MS = 1000;

/** Outside `/api`: load balancers and orchestrators probe these. */
@Controller('health')
// Probes for load balancers and orchestrators, not part of the REST API or its client.
@ApiExcludeController()
@Public()
@SkipThrottle()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly bus: BusHealthIndicator,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Liveness: the process answers. */
  @Get()
  checkLiveness(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /**
   * Readiness: each dependency answers. When one does not, 503 with the same body, so that a
   * load balancer steers away and an operator sees which one failed.
   */
  @Get('ready')
  async checkReadiness(
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<HealthCheckResult> {
    const checks: HealthIndicatorFunction[] = [
      () => this.database.pingCheck('database', { timeout: DEPENDENCY_TIMEOUT_MS }),
    ];
    // In-process, the bus cannot be down.
    if (this.config.redis.url) {
      checks.push(() => this.bus.check('bus'));
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
