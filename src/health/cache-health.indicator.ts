import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { CacheService } from '@libs/cache';

/**
 * The response cache's Redis tier. While Redis is away the cache fails open (the database
 * answers), so the instance stays ready and the cache is reported `degraded`, like the bus.
 */
@Injectable()
export class CacheHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly cache: CacheService,
  ) {}

  check(key: string): HealthIndicatorResult {
    const { redis } = this.cache.health();
    return this.indicators.check(key).up({ redis, degraded: redis === 'degraded' });
  }
}
