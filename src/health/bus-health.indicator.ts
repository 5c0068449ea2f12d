import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { MessageBus } from '@libs/bus';

/**
 * The bus's connection to Redis. While it reconnects the instance still serves every request from
 * the database (PRODUCT.md, guarantee 7), so it stays ready: the bus is reported `degraded`, not
 * down, and a load balancer does not pull every instance of the fleet at once.
 */
@Injectable()
export class BusHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly bus: MessageBus,
  ) {}

  check(key: string): HealthIndicatorResult {
    const { healthy, ...details } = this.bus.status();
    const indicator = this.indicators.check(key);
    return indicator.up({ ...details, degraded: !healthy });
  }
}
