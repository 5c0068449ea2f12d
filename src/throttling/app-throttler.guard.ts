import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerException,
  ThrottlerGuard,
  ThrottlerLimitDetail,
  ThrottlerModuleOptions,
  ThrottlerStorage,
} from '@nestjs/throttler';
import { Counter } from 'prom-client';
import { MetricsService } from '@app/metrics/metrics.service';

const COUNTED = Symbol('rateLimitCounted');

/**
 * The throttler guard, plus a plain `Retry-After` whichever limit was hit: the library names the
 * header after a non-default throttler (`Retry-After-auth`), which clients do not know to read.
 */
@Injectable()
export class AppThrottlerGuard extends ThrottlerGuard {
  private readonly throttled: Counter<'throttler'>;

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    metrics: MetricsService,
  ) {
    super(options, storage, reflector);
    this.throttled = metrics.counter({
      name: 'http_requests_throttled_total',
      help: 'HTTP requests answered 429, by the limit they passed (default or auth)',
      labelNames: ['throttler'],
    });
  }

  /**
   * Counts each request once: a cache hit answered early (`EarlyCacheHits`) runs this guard
   * before Nest's route does, and a miss then runs it again.
   */
  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<Record<symbol, boolean>>();
    if (request[COUNTED]) {
      return true;
    }
    const allowed = await super.canActivate(context);
    request[COUNTED] = true;
    return allowed;
  }

  protected override throwThrottlingException(
    context: ExecutionContext,
    limit: ThrottlerLimitDetail,
  ): Promise<void> {
    const response = context
      .switchToHttp()
      .getResponse<{ header(name: string, value: number): void }>();
    response.header('Retry-After', Math.max(1, limit.timeToBlockExpire));
    this.throttled.inc({ throttler: limit.key.split(':')[0] });
    throw new ThrottlerException();
  }
}
