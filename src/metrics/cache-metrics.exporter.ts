import { Injectable, OnModuleInit } from '@nestjs/common';
import { CacheMetrics, CacheMetricsSnapshot, CacheTierCounters, CacheTierName } from '@libs/cache';
import { MetricsService } from './metrics.service';

const TIERS: readonly CacheTierName[] = ['memory', 'redis'];

/** `switchboard_cache_<name>_total{tier}`: one series per tier. */
const TIER_COUNTERS: Record<keyof CacheTierCounters, [name: string, help: string]> = {
  hits: ['hits', 'Response-cache lookups answered by the tier'],
  misses: ['misses', 'Response-cache lookups the tier could not answer'],
  sets: ['sets', 'Entries written to the tier'],
  invalidations: ['invalidations', 'Entries removed from the tier by tag invalidation'],
  errors: ['errors', 'Failed or timed-out operations of the tier (the cache fails open)'],
};

/** `switchboard_cache_<name>_total`: the cache as a whole. */
const CACHE_COUNTERS: Record<Exclude<keyof CacheMetricsSnapshot, 'tiers'>, [string, string]> = {
  loads: ['loads', 'Misses answered by the handler (the database)'],
  coalesced: [
    'coalesced',
    'Requests that waited for the load of a concurrent request (single flight)',
  ],
  discardedLoads: [
    'discarded_loads',
    'Loaded answers not stored because a write invalidated them meanwhile',
  ],
  publishErrors: ['publish_errors', 'Invalidations the bus could not carry to the other instances'],
};

/**
 * Exports the counters of `CacheMetrics` (the one place the cache keeps them) to Prometheus.
 * Read at scrape time: the cache's hot path only increments numbers.
 */
@Injectable()
export class CacheMetricsExporter implements OnModuleInit {
  constructor(
    private readonly metrics: MetricsService,
    private readonly cache: CacheMetrics,
  ) {}

  onModuleInit(): void {
    const cache = this.cache;
    for (const [counter, [name, help]] of entries(TIER_COUNTERS)) {
      this.metrics.counter({
        name: `cache_${name}_total`,
        help,
        labelNames: ['tier'],
        collect() {
          const { tiers } = cache.snapshot();
          this.reset();
          for (const tier of TIERS) {
            this.inc({ tier }, tiers[tier][counter]);
          }
        },
      });
    }
    for (const [counter, [name, help]] of entries(CACHE_COUNTERS)) {
      this.metrics.counter({
        name: `cache_${name}_total`,
        help,
        collect() {
          this.reset();
          this.inc(cache.snapshot()[counter]);
        },
      });
    }
  }
}

function entries<K extends string, V>(record: Record<K, V>): [K, V][] {
  return Object.entries(record) as [K, V][];
}
