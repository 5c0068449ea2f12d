import { Injectable } from '@nestjs/common';
import type { RedisPublication } from './shared-cache.tier';

/** "These tags changed": sent by the instance that took a write to every other instance. */
export interface CacheInvalidation {
  tags: string[];
  /** The sending `CacheService`, so that it can ignore its own message. */
  origin: string;
}

export type CacheInvalidationListener = (invalidation: CacheInvalidation) => void;

/**
 * Carries tag invalidations between instances. The default one stays inside the process; the
 * bus library provides one on Redis pub/sub (`CacheModule.forRoot({ invalidationChannel })`).
 *
 * `publish` is awaited before a write is acknowledged, so it must fail fast rather than wait
 * for a broker that is down. Delivery may be at most once: the in-process tier's short TTL
 * bounds how long a lost message can leave another instance stale.
 */
export abstract class CacheInvalidationChannel {
  abstract publish(invalidation: CacheInvalidation): Promise<void>;

  /**
   * The invalidation as a Redis PUBLISH, when this channel rides on the Redis of the shared
   * tier: the tier then sends it in the same transaction as the generation bump (one round
   * trip, and no instance can hear of it before the bump). Undefined: `publish` is used.
   */
  redisPublication?(invalidation: CacheInvalidation): RedisPublication | undefined;

  /** Calls `listener` for each invalidation received; returns the function that stops it. */
  abstract onInvalidate(listener: CacheInvalidationListener): () => void;
}

/** Delivers to the listeners of this process only: enough for one instance, and for tests. */
@Injectable()
export class InProcessCacheInvalidationChannel extends CacheInvalidationChannel {
  private readonly listeners = new Set<CacheInvalidationListener>();

  publish(invalidation: CacheInvalidation): Promise<void> {
    for (const listener of this.listeners) {
      listener(invalidation);
    }
    return Promise.resolve();
  }

  onInvalidate(listener: CacheInvalidationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
