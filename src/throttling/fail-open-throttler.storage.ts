import { Logger, OnApplicationShutdown } from '@nestjs/common';
import { ThrottlerStorage } from '@nestjs/throttler';
import { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import { RedisConnection } from '@libs/redis';
import { FixedWindowThrottlerStorage } from './fixed-window-throttler.storage';
import { OutageNotice } from './outage-notice';
import { RedisFixedWindowCounter } from './redis-fixed-window.counter';

/**
 * Rate-limit counters in Redis, so that a limit holds across the whole fleet; while Redis is
 * unavailable (its circuit open: no request waits for it) or a command fails, each instance
 * counts on its own (the limit then holds per instance) instead of failing every request
 * (PRODUCT.md, guarantee 7). One warning per outage.
 */
export class FailOpenThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly outage = new OutageNotice(
    new Logger(FailOpenThrottlerStorage.name),
    'rate limits',
  );
  private readonly shared: RedisFixedWindowCounter;
  private readonly local = new FixedWindowThrottlerStorage();
  private readonly keyPrefix: string;

  constructor(private readonly connection: RedisConnection) {
    // On the application's one connection.
    this.shared = new RedisFixedWindowCounter(connection.client);
    this.keyPrefix = `${connection.keyPrefix}throttle:`;
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    if (this.connection.available) {
      try {
        const record = await this.connection.run(() =>
          this.shared.increment(this.keyPrefix + key, ttl, limit, blockDuration, throttlerName),
        );
        this.outage.recovered();
        return record;
      } catch (error) {
        this.outage.failedOver((error as Error).message);
      }
    } else {
      this.outage.failedOver('circuit open');
    }
    return this.local.increment(key, ttl, limit, blockDuration);
  }

  /** Windows of the per-instance fallback count (kept while Redis is away, swept after). */
  get size(): number {
    return this.local.size;
  }

  onApplicationShutdown(): void {
    this.local.onApplicationShutdown();
  }
}
