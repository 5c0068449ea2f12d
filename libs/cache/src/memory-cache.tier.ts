import { LRUCache } from 'lru-cache';
import { CacheMetrics } from './cache-metrics';
import { CacheOptions } from './cache-options';

/**
 * The in-process tier: a bounded LRU (`lru-cache`, by count and by body size, with per-entry
 * TTL) plus the index from each tag to the keys stored under it. Reads and writes are
 * synchronous, so that an invalidation cannot slip in between a "still current?" check and the
 * write that follows it.
 */
export class MemoryCacheTier {
  private readonly lru: LRUCache<string, NonNullable<unknown>>;
  private readonly keysByTag = new Map<string, Set<string>>();
  private readonly tagsByKey = new Map<string, readonly string[]>();
  private readonly maxTtlMs: number;

  constructor(
    options: CacheOptions['memory'] & { maxTtlMs?: number },
    private readonly metrics: CacheMetrics,
  ) {
    this.maxTtlMs = options.maxTtlMs ?? Infinity;
    this.lru = new LRUCache<string, NonNullable<unknown>>({
      max: options.maxEntries,
      maxSize: options.maxSize,
      // Bodies are counted by their length; anything else (an access decision) as one.
      sizeCalculation: (value) => (typeof value === 'string' ? Math.max(1, value.length) : 1),
      // Entries past their TTL are dropped when looked at; no timer per entry.
      ttlAutopurge: false,
      // A clock read per lookup instead of a timer that refreshes a cached one.
      ttlResolution: 0,
      dispose: (_value, key) => this.unindex(key),
    });
  }

  get size(): number {
    return this.lru.size;
  }

  get<T>(key: string): T | undefined {
    const value = this.lru.get(key) as T | undefined;
    this.metrics.countTier('memory', value === undefined ? 'misses' : 'hits');
    return value;
  }

  /**
   * `get`, counting hits only: for a look that a full `get` follows on a miss (an early answer
   * before the request's own cache lookup), so that one request counts one miss.
   */
  peek<T>(key: string): T | undefined {
    const value = this.lru.get(key) as T | undefined;
    if (value !== undefined) {
      this.metrics.countTier('memory', 'hits');
    }
    return value;
  }

  set<T>(key: string, value: T, tags: readonly string[], ttlMs: number): void {
    const ttl = Math.min(ttlMs, this.maxTtlMs);
    if (!(ttl > 0) || value === undefined || value === null) {
      return;
    }
    this.lru.set(key, value, { ttl });
    // An entry larger than the whole tier is refused (and an older one under the key removed).
    if (!this.lru.has(key)) {
      return;
    }
    this.tagsByKey.set(key, tags);
    for (const tag of tags) {
      let keys = this.keysByTag.get(tag);
      if (!keys) {
        keys = new Set();
        this.keysByTag.set(tag, keys);
      }
      keys.add(key);
    }
    this.metrics.countTier('memory', 'sets');
  }

  /** Removes every entry stored under any of `tags`; returns how many went. */
  invalidate(tags: readonly string[]): number {
    let removed = 0;
    for (const tag of tags) {
      const keys = this.keysByTag.get(tag);
      if (!keys) {
        continue;
      }
      for (const key of [...keys]) {
        if (this.lru.delete(key)) {
          removed += 1;
        }
      }
    }
    this.metrics.countTier('memory', 'invalidations', removed);
    return removed;
  }

  private unindex(key: string): void {
    const tags = this.tagsByKey.get(key);
    if (!tags) {
      return;
    }
    this.tagsByKey.delete(key);
    for (const tag of tags) {
      const keys = this.keysByTag.get(tag);
      keys?.delete(key);
      if (keys?.size === 0) {
        this.keysByTag.delete(tag);
      }
    }
  }
}
