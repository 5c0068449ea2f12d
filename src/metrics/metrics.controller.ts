import { Controller, Get, Headers, HttpStatus, Inject, Res } from '@nestjs/common';
import { ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '@app/openapi/api-errors.decorator';
import { SkipThrottle } from '@nestjs/throttler';
import type { FastifyReply } from 'fastify';
import { APP_CONFIG, AppConfig } from '@config';
import { bearerToken } from '@app/auth/access-token.guard';
import { Public } from '@app/auth/authenticated.decorator';
import { AppError } from '@app/common/errors/app-error';
import { MetricsService } from './metrics.service';

/** Prometheus scrape endpoint, outside `/api` and outside the public contract. */
@Controller('metrics')
@ApiTags('health')
@Public()
@SkipThrottle()
export class MetricsController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {}

  /** Prometheus text; needs `Authorization: Bearer <METRICS_TOKEN>` when that is set. */
  @Get()
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'Prometheus text format 0.0.4', schema: { type: 'string' } })
  @ApiErrors(HttpStatus.UNAUTHORIZED)
  async scrapeMetrics(
    @Headers('authorization') authorization: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    const token = this.config.metricsToken;
    if (token && bearerToken(authorization) !== token) {
      throw new AppError('unauthenticated', 'GET /metrics needs the METRICS_TOKEN bearer token');
    }
    reply.header('Content-Type', this.metrics.contentType);
    return this.metrics.render();
  }
}
