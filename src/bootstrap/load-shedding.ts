import underPressure from '@fastify/under-pressure';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppConfig } from '@config';
import { errorResponse } from '@app/common/errors/error-response.dto';
import { MetricsService } from '@app/metrics/metrics.service';

/** Seconds a shed client is told to wait. */
export const SHED_RETRY_AFTER_SECONDS = 5;

/** Liveness and scraping must keep answering while the process sheds load. */
const NEVER_SHED = new Set(['/health', '/metrics']);

/**
 * Answers 503 with Retry-After, before any other work, while the process is saturated (event-loop
 * delay, heap or RSS past the configured thresholds). `/health/ready` is shed too, so a load
 * balancer steers new traffic away. The gateway asks `isUnderPressure()` before an upgrade.
 */
export async function registerLoadShedding(
  app: NestFastifyApplication,
  config: AppConfig,
): Promise<void> {
  const shed = app.get(MetricsService).counter({
    name: 'http_requests_shed_total',
    help: 'HTTP requests answered 503 by load shedding, by the threshold that was passed',
    labelNames: ['reason'],
  });
  // At 0 from the start, so that the rate of shed requests reads 0 rather than nothing.
  shed.inc({ reason: 'eventLoopDelay' }, 0);
  await app.register(underPressure, {
    maxEventLoopDelay: config.shedding.maxEventLoopDelayMs,
    maxHeapUsedBytes: config.shedding.maxHeapUsedBytes,
    maxRssBytes: config.shedding.maxRssBytes,
    retryAfter: SHED_RETRY_AFTER_SECONDS,
    pressureHandler: (request, reply, type) => {
      // Returning without a reply lets the request through; Fastify stops at a sent reply.
      if (NEVER_SHED.has(request.url.split('?')[0])) {
        return;
      }
      shed.inc({ reason: type });
      void reply
        .status(503)
        .header('Retry-After', SHED_RETRY_AFTER_SECONDS)
        .send({
          ...errorResponse(503, 'The server is overloaded; retry after the Retry-After delay'),
          requestId: request.id,
        });
    },
  });
}
