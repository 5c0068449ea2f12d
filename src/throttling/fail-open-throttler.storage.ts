import { Logger, OnApplicationShutdown } from '@nestjs/common';
import { ThrottlerStorage } from '@nestjs/throttler';
import { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import { RedisConnection } from '@libs/redis';
import { FixedWindowThrottlerStorage } from './fixed-window-throttler.storage';
import { RedisFixedWindowCounter } from './redis-fixed-window.counter';

/**
 * Rate-limit counters in Redis, so that a limit holds across the whole fleet; while Redis is
 * unavailable (its circuit open: no request waits for it) or a command fails, each instance
 * counts on its own (the limit then holds per instance) instead of failing every request
 * (PRODUCT.md, guarantee 7). One warning per outage.
 */
export class FailOpenThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly logger = new Logger(FailOpenThrottlerStorage.name);
  private readonly shared: RedisFixedWindowCounter;
  private readonly local = new FixedWindowThrottlerStorage();
  private readonly keyPrefix: string;
  private degraded = false;

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
        if (this.degraded) {
          this.degraded = false;
          this.logger.log('Redis is back: rate limits are shared across the fleet again');
        }
        return record;
      } catch (error) {
        this.degrade((error as Error).message);
      }
    } else {
      this.degrade('circuit open');
    }
    return this.local.increment(key, ttl, limit, blockDuration);
  }

  onApplicationShutdown(): void {
    this.local.onApplicationShutdown();
  }

  private degrade(reason: string): void {
    if (!this.degraded) {
      this.degraded = true;
      this.logger.warn(
        `Redis unavailable (${reason}): rate limits count per instance until it returns`,
      );
    }
  }
}
