import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { MessageBus } from '@libs/bus';

/** The bus's connection to Redis: down while it reconnects or restores its subscriptions. */
@Injectable()
export class BusHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly bus: MessageBus,
  ) {}

  check(key: string): HealthIndicatorResult {
    const { healthy, ...details } = this.bus.status();
    const indicator = this.indicators.check(key);
    return healthy ? indicator.up(details) : indicator.down(details);
  }
}
