import { EventEmitter } from 'node:events';
import type { KeyvStoreAdapter, StoredData } from 'keyv';

export interface MemoryLruStoreOptions {
  /** At most this many entries; the least recently used one goes first. */
  maxEntries: number;
  /** At most this total `sizeOf`; an entry larger than that on its own is not stored. */
  maxSize?: number;
  /** Caps every entry's TTL (and gives one to entries set without). */
  maxTtlMs?: number;
  sizeOf?: (data: unknown) => number;
  /** Called for every entry that leaves the store: evicted, expired, replaced, deleted, cleared. */
  onRemove?: (key: string) => void;
}

interface Slot {
  data: unknown;
  expiresAt: number;
  size: number;
}

/**
 * A bounded in-process LRU store with per-entry expiry, usable directly (synchronously, on the
 * hot path) and as a Keyv store adapter (for cache-manager). A `Map` keeps insertion order, so
 * re-inserting on read makes its first key the least recently used one.
 */
export class MemoryLruStore extends EventEmitter implements KeyvStoreAdapter {
  readonly opts = { dialect: 'memory-lru' };
  namespace?: string;
  private readonly slots = new Map<string, Slot>();
  private totalSize = 0;

  constructor(private readonly options: MemoryLruStoreOptions) {
    super();
    if (!(options.maxEntries >= 1)) {
      throw new Error('MemoryLruStore needs maxEntries of at least 1');
    }
  }

  get size(): number {
    return this.slots.size;
  }

  getSync(key: string): unknown {
    const slot = this.slots.get(key);
    if (!slot) {
      return undefined;
    }
    if (slot.expiresAt <= Date.now()) {
      this.remove(key, slot);
      return undefined;
    }
    this.slots.delete(key);
    this.slots.set(key, slot);
    return slot.data;
  }

  /** Stores `data` for `ttlMs` (capped by `maxTtlMs`); false when it is not kept. */
  setSync(key: string, data: unknown, ttlMs?: number): boolean {
    const existing = this.slots.get(key);
    if (existing) {
      this.remove(key, existing);
    }
    const ttl = Math.min(ttlMs ?? Infinity, this.options.maxTtlMs ?? Infinity);
    const size = this.options.sizeOf?.(data) ?? 0;
    if (!(ttl > 0) || size > (this.options.maxSize ?? Infinity)) {
      return false;
    }
    this.slots.set(key, { data, expiresAt: Date.now() + ttl, size });
    this.totalSize += size;
    this.evictOverflow();
    return true;
  }

  deleteSync(key: string): boolean {
    const slot = this.slots.get(key);
    if (!slot) {
      return false;
    }
    this.remove(key, slot);
    return true;
  }

  clearSync(): void {
    for (const [key, slot] of [...this.slots]) {
      this.remove(key, slot);
    }
  }

  // Keyv store adapter: Keyv hands over and gets back its `{ value, expires }` records.

  get<Value>(key: string): Promise<StoredData<Value> | undefined> {
    return Promise.resolve(this.getSync(key) as StoredData<Value> | undefined);
  }

  set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    return Promise.resolve(this.setSync(key, value, ttl));
  }

  delete(key: string): Promise<boolean> {
    return Promise.resolve(this.deleteSync(key));
  }

  clear(): Promise<void> {
    this.clearSync();
    return Promise.resolve();
  }

  private evictOverflow(): void {
    const maxSize = this.options.maxSize ?? Infinity;
    while (this.slots.size > this.options.maxEntries || this.totalSize > maxSize) {
      const oldest = this.slots.entries().next().value;
      if (!oldest) {
        return;
      }
      this.remove(oldest[0], oldest[1]);
    }
  }

  private remove(key: string, slot: Slot): void {
    this.slots.delete(key);
    this.totalSize -= slot.size;
    this.options.onRemove?.(key);
  }
}
