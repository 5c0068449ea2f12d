import KeyvRedis, { createClient, RedisClientConnectionType } from '@keyv/redis';
import { Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import Keyv from 'keyv';
import { CacheMetrics } from './cache-metrics';
import { RedisTierOptions } from './cache-options';
import { CircuitBreaker, withTimeout } from './circuit-breaker';
import { FailOpenRedisStore } from './fail-open-redis.store';
import { INVALIDATE_TAGS_SCRIPT, SET_IF_CURRENT_SCRIPT } from './redis-scripts';
import {
  SharedCacheTier,
  SharedEntry,
  SharedWriteResult,
  TagGenerations,
} from './shared-cache.tier';

/** The commands this tier sends itself; `@keyv/redis` sends GET/SET/DEL on the same client. */
export interface RedisTierClient {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  close(): Promise<unknown>;
  destroy(): void;
  ping(): Promise<unknown>;
  mGet(keys: string[]): Promise<(string | null)[]>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  unlink(keys: string[]): Promise<number>;
  scanIterator(options: { MATCH: string; COUNT: number }): AsyncIterable<string[]>;
  on(event: 'error' | 'ready', listener: (error?: Error) => void): unknown;
}

/** Outlives any load by far: a generation that expired mid-load would look unchanged. */
const GENERATION_TTL_MS = 24 * 60 * 60 * 1000;
/** Tags per invalidation script call while replaying, to keep each call short. */
const REPLAY_BATCH = 100;

export function createRedisTierClient(options: RedisTierOptions): RedisTierClient {
  return createClient({
    url: options.url,
    // Commands fail at once while disconnected instead of queueing behind a dead socket.
    disableOfflineQueue: true,
    commandOptions: { timeout: options.commandTimeoutMs },
    socket: {
      connectTimeout: Math.max(options.connectTimeoutMs, options.commandTimeoutMs),
      // Reconnects forever, backing off to one attempt every 2 s.
      reconnectStrategy: (retries: number) => Math.min(2 ** retries * 50, 2_000),
    },
  });
}

/**
 * The shared tier on Redis. Entries go through Keyv and `@keyv/redis` under
 * `<prefix>cache:entry:<key>`; each tag has a set of the entry keys stored under it
 * (`<prefix>cache:tag:<tag>`) and a generation counter (`<prefix>cache:gen:<tag>`), so that
 * an invalidation on any instance removes what any other instance stored.
 *
 * Fails open: see `CircuitBreaker`. Invalidations that could not reach Redis are replayed when
 * it answers again, before the tier is used, so an outage does not leave stale entries behind.
 * (Standalone Redis or Sentinel: the scripts touch several keys, which Redis Cluster would
 * need in one hash slot.)
 */
export class RedisCacheTier implements SharedCacheTier, OnModuleInit, OnModuleDestroy {
  /** Keyv over the fail-open store, for reads here and for cache-manager. */
  readonly keyv: Keyv;
  private readonly breaker: CircuitBreaker;
  private readonly entries: KeyvRedis<unknown>;
  private readonly pendingInvalidations = new Set<string>();
  private pendingOverflow = false;
  private readonly logger = new Logger('Cache');

  constructor(
    private readonly client: RedisTierClient,
    private readonly options: RedisTierOptions,
    private readonly metrics: CacheMetrics,
  ) {
    this.breaker = new CircuitBreaker({
      name: 'Redis cache tier',
      timeoutMs: options.commandTimeoutMs,
      retryIntervalMs: options.retryIntervalMs,
      probe: () => this.client.ping(),
      onRecover: () => this.replayInvalidations(),
      needsRecovery: () => this.pendingOverflow || this.pendingInvalidations.size > 0,
      onError: () => this.metrics.countTier('redis', 'errors'),
      logger: this.logger,
    });
    const namespace = `${options.keyPrefix}cache:entry`;
    this.entries = new KeyvRedis<unknown>(client as unknown as RedisClientConnectionType, {
      namespace,
      keyPrefixSeparator: ':',
      throwOnErrors: true,
      throwOnConnectError: true,
    });
    // Failures reach the breaker through the commands; these events would only repeat them.
    this.entries.on('error', () => undefined);
    this.client.on('error', (error) => this.breaker.trip(error ?? 'connection error'));
    this.client.on('ready', () => void this.breaker.probeNow());
    this.keyv = new Keyv({
      store: new FailOpenRedisStore(this.entries, this.breaker),
      namespace,
      useKeyPrefix: false,
    });
  }

  async onModuleInit(): Promise<void> {
    // Connects in the background (and reconnects forever); start-up waits only so long.
    const connecting = this.client.connect().catch(() => undefined);
    await withTimeout(connecting, this.options.connectTimeoutMs).catch(() => undefined);
    await this.breaker.start();
  }

  async onModuleDestroy(): Promise<void> {
    this.breaker.stop();
    if (this.client.isReady) {
      await withTimeout(this.client.close(), 1_000).catch(() => this.client.destroy());
    } else if (this.client.isOpen) {
      this.client.destroy();
    }
  }

  health(): 'up' | 'degraded' {
    return this.breaker.available ? 'up' : 'degraded';
  }

  async get<T>(key: string): Promise<SharedEntry<T> | undefined> {
    let record: { value?: T; expires?: number | null } | undefined;
    try {
      record = await this.keyv.get<T>(key, { raw: true });
    } catch {
      // Not something Keyv wrote (or cut short): treat as absent.
      this.metrics.countTier('redis', 'errors');
    }
    if (record?.value === undefined) {
      this.metrics.countTier('redis', 'misses');
      return undefined;
    }
    this.metrics.countTier('redis', 'hits');
    return { value: record.value, expiresAt: record.expires ?? undefined };
  }

  async generations(tags: readonly string[]): Promise<TagGenerations | undefined> {
    if (tags.length === 0) {
      return this.breaker.available ? [] : undefined;
    }
    const keys = tags.map((tag) => this.generationKey(tag));
    const values = await this.breaker.run(() => this.client.mGet(keys), undefined);
    return values?.map((value) => value ?? '0');
  }

  async setIfCurrent<T>(
    key: string,
    value: T,
    tags: readonly string[],
    generations: TagGenerations,
    ttlMs: number,
  ): Promise<SharedWriteResult> {
    if (!this.breaker.available) {
      return 'skipped';
    }
    const serialized = await this.keyv.serializeData({ value, expires: Date.now() + ttlMs });
    const result = await this.breaker.run(
      () =>
        this.client.eval(SET_IF_CURRENT_SCRIPT, {
          keys: [
            this.entries.createKeyPrefix(key, this.entries.namespace),
            ...tags.map((tag) => this.generationKey(tag)),
            ...tags.map((tag) => this.tagKey(tag)),
          ],
          arguments: [
            typeof serialized === 'string' ? serialized : JSON.stringify(serialized),
            String(Math.ceil(ttlMs)),
            ...generations,
          ],
        }),
      undefined,
    );
    if (result === undefined) {
      return 'skipped';
    }
    if (Number(result) !== 1) {
      return 'stale';
    }
    this.metrics.countTier('redis', 'sets');
    return 'stored';
  }

  async invalidate(tags: readonly string[]): Promise<void> {
    if (tags.length === 0) {
      return;
    }
    const removed = await this.breaker.run(() => this.invalidateNow(tags), undefined);
    if (removed === undefined) {
      this.keepForReplay(tags);
    }
  }

  private async invalidateNow(tags: readonly string[]): Promise<number> {
    const removed = Number(
      await this.client.eval(INVALIDATE_TAGS_SCRIPT, {
        keys: [
          ...tags.map((tag) => this.generationKey(tag)),
          ...tags.map((tag) => this.tagKey(tag)),
        ],
        arguments: [String(GENERATION_TTL_MS)],
      }),
    );
    this.metrics.countTier('redis', 'invalidations', removed);
    return removed;
  }

  private keepForReplay(tags: readonly string[]): void {
    if (this.pendingOverflow) {
      return;
    }
    for (const tag of tags) {
      this.pendingInvalidations.add(tag);
    }
    if (this.pendingInvalidations.size > this.options.maxPendingInvalidations) {
      // Too many to replay one by one: every entry goes instead.
      this.pendingOverflow = true;
      this.pendingInvalidations.clear();
    }
  }

  /** Runs before the tier is used again after an outage; throwing keeps it down. */
  private async replayInvalidations(): Promise<void> {
    if (this.pendingOverflow) {
      await this.deleteAllEntries();
      this.pendingOverflow = false;
      return;
    }
    const tags = [...this.pendingInvalidations];
    this.pendingInvalidations.clear();
    try {
      for (let first = 0; first < tags.length; first += REPLAY_BATCH) {
        await this.invalidateNow(tags.slice(first, first + REPLAY_BATCH));
      }
    } catch (error) {
      this.keepForReplay(tags);
      throw error;
    }
  }

  private async deleteAllEntries(): Promise<void> {
    const pattern = `${this.entries.namespace}:*`;
    for await (const keys of this.client.scanIterator({ MATCH: pattern, COUNT: 1000 })) {
      if (keys.length > 0) {
        await this.client.unlink(keys);
      }
    }
  }

  private generationKey(tag: string): string {
    return `${this.options.keyPrefix}cache:gen:${tag}`;
  }

  private tagKey(tag: string): string {
    return `${this.options.keyPrefix}cache:tag:${tag}`;
  }
}
