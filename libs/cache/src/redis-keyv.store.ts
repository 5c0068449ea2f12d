import { EventEmitter } from 'node:events';
import type { KeyvStoreAdapter, StoredData } from 'keyv';
import { RedisConnection } from '@libs/redis';

/** Keys per UNLINK while clearing. */
const CLEAR_BATCH = 500;

/**
 * A Keyv store on the application's `RedisConnection`, for cache-manager's `CACHE_MANAGER`: the
 * same connection and circuit breaker as everything else, and the same fail-open behaviour (a
 * Redis that is away reads as empty and ignores writes instead of throwing).
 */
export class RedisKeyvStore extends EventEmitter implements KeyvStoreAdapter {
  readonly opts = { dialect: 'redis' };
  namespace?: string;

  constructor(
    private readonly connection: RedisConnection,
    /** Starts every key this store writes. */
    private readonly keyPrefix: string,
  ) {
    super();
  }

  async get<Value>(key: string): Promise<StoredData<Value> | undefined> {
    try {
      const value = await this.connection.run((client) => client.get(this.keyPrefix + key));
      return (value ?? undefined) as StoredData<Value> | undefined;
    } catch {
      return undefined;
    }
  }

  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    const serialized = typeof value === 'string' ? value : JSON.stringify(value);
    try {
      await this.connection.run((client) =>
        ttl !== undefined && ttl > 0
          ? client.set(this.keyPrefix + key, serialized, 'PX', Math.ceil(ttl))
          : client.set(this.keyPrefix + key, serialized),
      );
      return true;
    } catch {
      return false;
    }
  }

  async delete(key: string): Promise<boolean> {
    try {
      return (await this.connection.run((client) => client.del(this.keyPrefix + key))) > 0;
    } catch {
      return false;
    }
  }

  /**
   * Removes this store's keys only (SCAN in batches, never KEYS or FLUSHDB), on every primary of
   * a cluster. Keys are unlinked one by one in a pipeline: one UNLINK of several keys would
   * cross slots on a cluster.
   */
  async clear(): Promise<void> {
    try {
      await Promise.all(
        this.connection.primaries().map((node) =>
          this.connection.run(async () => {
            let cursor = '0';
            do {
              const [next, keys] = await node.scan(
                cursor,
                'MATCH',
                `${this.keyPrefix}*`,
                'COUNT',
                CLEAR_BATCH,
              );
              cursor = next;
              if (keys.length > 0) {
                const unlinks = node.pipeline();
                keys.forEach((key) => unlinks.unlink(key));
                await unlinks.exec();
              }
            } while (cursor !== '0');
          }),
        ),
      );
    } catch {
      // Fail open: what could not be removed expires by its TTL.
    }
  }
}
