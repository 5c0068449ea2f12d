import { Controller, Get, Headers, Inject, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import type { FastifyReply } from 'fastify';
import { APP_CONFIG, AppConfig } from '@config';
import { bearerToken } from '@app/auth/access-token.guard';
import { Public } from '@app/auth/authenticated.decorator';
import { AppError } from '@app/common/errors/app-error';
import { MetricsService } from './metrics.service';

/** Prometheus scrape endpoint, outside `/api` and outside the public contract. */
@Controller('metrics')
@ApiExcludeController()
@Public()
@SkipThrottle()
export class MetricsController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {}

  @Get()
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
