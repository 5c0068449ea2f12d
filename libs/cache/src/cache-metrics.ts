import { Injectable } from '@nestjs/common';

export type CacheTierName = 'memory' | 'redis';

export interface CacheTierCounters {
  hits: number;
  misses: number;
  /** Entries written. */
  sets: number;
  /** Entries removed by tag invalidation. */
  invalidations: number;
  /** Failed or timed-out operations (Redis only, in practice). */
  errors: number;
}

export interface CacheMetricsSnapshot {
  tiers: Record<CacheTierName, CacheTierCounters>;
  /** Loader (handler) calls: one per miss that was not coalesced or answered by Redis. */
  loads: number;
  /** Requests that waited for another request's load of the same key. */
  coalesced: number;
  /** Loaded values not stored because an invalidation overtook the load. */
  discardedLoads: number;
  /** Invalidations the cross-instance channel failed to publish. */
  publishErrors: number;
}

const zeroCounters = (): CacheTierCounters => ({
  hits: 0,
  misses: 0,
  sets: 0,
  invalidations: 0,
  errors: 0,
});

/** Every cache counter, in one place, for `/metrics` to export. */
@Injectable()
export class CacheMetrics {
  private readonly counters: CacheMetricsSnapshot = {
    tiers: { memory: zeroCounters(), redis: zeroCounters() },
    loads: 0,
    coalesced: 0,
    discardedLoads: 0,
    publishErrors: 0,
  };

  countTier(tier: CacheTierName, counter: keyof CacheTierCounters, by = 1): void {
    this.counters.tiers[tier][counter] += by;
  }

  count(counter: Exclude<keyof CacheMetricsSnapshot, 'tiers'>, by = 1): void {
    this.counters[counter] += by;
  }

  snapshot(): CacheMetricsSnapshot {
    return {
      ...this.counters,
      tiers: {
        memory: { ...this.counters.tiers.memory },
        redis: { ...this.counters.tiers.redis },
      },
    };
  }
}
