import { Logger, OnApplicationShutdown } from '@nestjs/common';
import { ThrottlerStorage } from '@nestjs/throttler';
import { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import Redis from 'ioredis';
import { createFailFastRedis } from '@app/common/redis-client';
import { FixedWindowThrottlerStorage } from './fixed-window-throttler.storage';

/**
 * Rate-limit counters in Redis, so that a limit holds across the whole fleet; while Redis is
 * unreachable or slow, each instance counts on its own (the limit then holds per instance)
 * instead of failing every request (PRODUCT.md, guarantee 7). One warning per outage.
 */
export class FailOpenThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly logger = new Logger(FailOpenThrottlerStorage.name);
  private readonly redis: Redis;
  private readonly shared: ThrottlerStorageRedisService;
  private readonly local = new FixedWindowThrottlerStorage();
  private degraded = false;

  constructor(url: string, keyPrefix: string) {
    this.redis = createFailFastRedis(url, `${keyPrefix}throttle:`, 'throttler');
    this.shared = new ThrottlerStorageRedisService(this.redis);
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    try {
      const record = await this.shared.increment(key, ttl, limit, blockDuration, throttlerName);
      if (this.degraded) {
        this.degraded = false;
        this.logger.log('Redis is back: rate limits are shared across the fleet again');
      }
      return record;
    } catch (error) {
      if (!this.degraded) {
        this.degraded = true;
        this.logger.warn(
          `Redis unavailable (${(error as Error).message}): rate limits count per instance until it returns`,
        );
      }
      return this.local.increment(key, ttl, limit, blockDuration);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.local.onApplicationShutdown();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
