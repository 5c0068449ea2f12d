import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import {
  HealthCheckResult,
  HealthCheckService,
  HealthIndicatorFunction,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import { SkipThrottle } from '@nestjs/throttler';
import type { FastifyReply } from 'fastify';
import { CacheService } from '@libs/cache';
import { Public } from '@app/auth/authenticated.decorator';

const DEPENDENCY_TIMEOUT_MS = 1000;

/** Outside `/api`: load balancers and orchestrators probe these. */
@Controller('health')
@Public()
@SkipThrottle()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    private readonly cache: CacheService,
  ) {}

  /** Liveness: the process answers. */
  @Get()
  checkLiveness(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /**
   * Readiness: each dependency answers. When one does not, 503 with the same body, so that a
   * load balancer steers away and an operator sees which one failed. A Redis cache tier that is
   * down shows as `cache: { status: "up", redis: "degraded" }` without failing readiness: the
   * cache fails open and the database answers.
   */
  @Get('ready')
  async checkReadiness(
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<HealthCheckResult> {
    try {
      const checks: HealthIndicatorFunction[] = [
        () => this.database.pingCheck('database', { timeout: DEPENDENCY_TIMEOUT_MS }),
      ];
      const { redis } = this.cache.health();
      if (redis !== 'disabled') {
        checks.push(() => this.indicators.check('cache').up({ redis }));
      }
      return await this.health.check(checks);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) {
        throw error;
      }
      reply.status(error.getStatus());
      return error.getResponse() as HealthCheckResult;
    }
  }
}
