import { EventEmitter } from 'node:events';
import type KeyvRedis from '@keyv/redis';
import type { KeyvStoreAdapter, StoredData } from 'keyv';
import { CircuitBreaker } from './circuit-breaker';

/**
 * `@keyv/redis` behind the circuit breaker: every call answers within the command timeout, and
 * a Redis that is down reads as empty and ignores writes instead of throwing. Whoever reaches
 * Redis through Keyv (this library, cache-manager) gets the same fail-open behaviour.
 *
 * No `disconnect()`: the Redis client belongs to `RedisCacheTier`, which closes it.
 */
export class FailOpenRedisStore extends EventEmitter implements KeyvStoreAdapter {
  readonly opts = { dialect: 'redis' };

  constructor(
    private readonly redis: KeyvRedis<unknown>,
    private readonly breaker: CircuitBreaker,
  ) {
    super();
  }

  get namespace(): string | undefined {
    return this.redis.namespace;
  }

  set namespace(namespace: string | undefined) {
    this.redis.namespace = namespace;
  }

  get<Value>(key: string): Promise<StoredData<Value> | undefined> {
    return this.breaker.run(() => this.redis.get<StoredData<Value>>(key), undefined);
  }

  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    const written = await this.breaker.run(async () => {
      await this.redis.set(key, value as string, ttl);
      return true;
    }, false);
    return written;
  }

  delete(key: string): Promise<boolean> {
    return this.breaker.run(() => this.redis.delete(key), false);
  }

  async clear(): Promise<void> {
    await this.breaker.run(() => this.redis.clear(), undefined);
  }
}
