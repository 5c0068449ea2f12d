import { EventEmitter } from 'node:events';
import type { KeyvStoreAdapter, StoredData } from 'keyv';
import type { LRUCache } from 'lru-cache';

/**
 * Keyv's store interface over an `lru-cache` (Keyv does not take one as it is), for
 * cache-manager's `CACHE_MANAGER`: Keyv hands over and gets back its `{ value, expires }` records.
 */
export class LruKeyvStore extends EventEmitter implements KeyvStoreAdapter {
  readonly opts = { dialect: 'lru-cache' };
  namespace?: string;

  constructor(private readonly lru: LRUCache<string, NonNullable<unknown>>) {
    super();
  }

  get<Value>(key: string): Promise<StoredData<Value> | undefined> {
    return Promise.resolve(this.lru.get(key) as StoredData<Value> | undefined);
  }

  set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    if (value === undefined || value === null) {
      return Promise.resolve(false);
    }
    this.lru.set(key, value, ttl !== undefined && ttl > 0 ? { ttl } : {});
    return Promise.resolve(this.lru.has(key));
  }

  delete(key: string): Promise<boolean> {
    return Promise.resolve(this.lru.delete(key));
  }

  clear(): Promise<void> {
    this.lru.clear();
    return Promise.resolve();
  }
}
