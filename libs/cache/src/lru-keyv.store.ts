import { EventEmitter } from 'node:events';
import Keyv, { type KeyvStoreAdapter, type StoredData } from 'keyv';
import { LRUCache } from 'lru-cache';
import type { CacheOptions } from './cache-options';

/**
 * The in-process store of cache-manager's `CACHE_MANAGER`: an LRU of its own, bounded like the
 * memory tier. Never the tier's LRU: a `set` there could forge a cached answer or access decision
 * under its key, and `clear()` would wipe them all.
 */
export function createMemoryKeyv(options: Pick<CacheOptions['memory'], 'maxEntries'>): Keyv {
  const keyv = new Keyv({
    store: new LruKeyvStore(
      new LRUCache<string, NonNullable<unknown>>({ max: options.maxEntries, ttlAutopurge: false }),
    ),
    namespace: undefined,
    useKeyPrefix: false,
  });
  // Values stay as they are: no serialization on the way in or out.
  keyv.serialize = undefined;
  keyv.deserialize = undefined;
  return keyv;
}

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
