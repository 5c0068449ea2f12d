import Keyv from 'keyv';
import { CacheMetrics } from './cache-metrics';
import { CacheOptions } from './cache-options';
import { MemoryLruStore } from './memory-lru.store';

/** Keyv's record format, so that the store also works under Keyv (and so cache-manager). */
interface StoredRecord<T> {
  value: T;
  expires?: number;
}

/**
 * The in-process tier: a bounded LRU store plus the index from each tag to the keys stored
 * under it. Reads and writes are synchronous, so that an invalidation cannot slip in between a
 * "still current?" check and the write that follows it.
 */
export class MemoryCacheTier {
  /** The same store under Keyv, for cache-manager's `CACHE_MANAGER`. */
  readonly keyv: Keyv;
  private readonly store: MemoryLruStore;
  private readonly keysByTag = new Map<string, Set<string>>();
  private readonly tagsByKey = new Map<string, readonly string[]>();

  constructor(
    options: CacheOptions['memory'] & { maxTtlMs?: number },
    private readonly metrics: CacheMetrics,
  ) {
    this.store = new MemoryLruStore({
      maxEntries: options.maxEntries,
      maxSize: options.maxSize,
      maxTtlMs: options.maxTtlMs,
      sizeOf: (data) => {
        const value = (data as StoredRecord<unknown> | undefined)?.value;
        return typeof value === 'string' ? value.length : 0;
      },
      onRemove: (key) => this.unindex(key),
    });
    // Values stay as they are: no serialization on the way in or out.
    this.keyv = new Keyv({ store: this.store, namespace: undefined, useKeyPrefix: false });
    this.keyv.serialize = undefined;
    this.keyv.deserialize = undefined;
  }

  get size(): number {
    return this.store.size;
  }

  get<T>(key: string): T | undefined {
    const value = this.lookup<T>(key);
    this.metrics.countTier('memory', value === undefined ? 'misses' : 'hits');
    return value;
  }

  /**
   * `get`, counting hits only: for a look that a full `get` follows on a miss (an early answer
   * before the request's own cache lookup), so that one request counts one miss.
   */
  peek<T>(key: string): T | undefined {
    const value = this.lookup<T>(key);
    if (value !== undefined) {
      this.metrics.countTier('memory', 'hits');
    }
    return value;
  }

  private lookup<T>(key: string): T | undefined {
    const record = this.store.getSync(key) as StoredRecord<T> | undefined;
    if (record === undefined || (record.expires !== undefined && record.expires <= Date.now())) {
      return undefined;
    }
    return record.value;
  }

  set<T>(key: string, value: T, tags: readonly string[], ttlMs: number): void {
    const record: StoredRecord<T> = { value, expires: Date.now() + ttlMs };
    if (!this.store.setSync(key, record, ttlMs)) {
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
        if (this.store.deleteSync(key)) {
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
