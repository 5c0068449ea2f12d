import { Logger } from '@nestjs/common';
import Keyv from 'keyv';
import { RedisConnection } from '@libs/redis';
import { CacheMetrics } from './cache-metrics';
import { RedisKeyvStore } from './redis-keyv.store';
import {
  RedisPublication,
  SharedCacheTier,
  SharedEntry,
  SharedInvalidationResult,
  SharedWriteResult,
  TagGenerations,
} from './shared-cache.tier';

/**
 * Outlives any cached entry by far: a counter that expired and started again from 0 could make
 * an old entry's key current again, unless that entry expired long before.
 */
const GENERATION_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * Stores an entry only if the generations it was loaded under are still current: a load that an
 * invalidation overtook is not kept (it would be unreachable anyway; this also tells the caller
 * not to keep it in memory). KEYS: the entry, then the generation keys (epoch first).
 * ARGV: the entry, its TTL in ms, then the generations read before the load.
 */
const SET_IF_CURRENT_SCRIPT = `
for i = 2, #KEYS do
  if (redis.call('GET', KEYS[i]) or '0') ~= ARGV[i + 1] then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`;

/**
 * The previous release (commit 56ee10c) recorded each entry's key in a set per tag,
 * `<prefix>cache:tag:<tag>`, and read entries without looking at generations: while instances of
 * it share the Redis (a rolling upgrade), an invalidation here also deletes what those sets name,
 * or they would serve what this write changed until its TTL. KEYS: the tag sets. Nothing to do,
 * one SMEMBERS of a missing key per tag, once no instance of it is left; goes in the next release.
 */
const DELETE_PREVIOUS_RELEASE_ENTRIES_SCRIPT = `
for i = 1, #KEYS do
  local members = redis.call('SMEMBERS', KEYS[i])
  for first = 1, #members, 500 do
    redis.call('DEL', unpack(members, first, math.min(first + 499, #members)))
  end
  redis.call('DEL', KEYS[i])
end
return 0
`;

/** What an entry holds in Redis. */
interface StoredEntry<T> {
  value: T;
  expiresAt: number;
}

/**
 * The shared tier on Redis, through the application's `RedisConnection` (its one command
 * connection and circuit breaker). Its footprint is bounded by design:
 *
 * - `<prefix>cache:gen:<tag>`: one counter per tag that was invalidated within a day;
 * - `<prefix>cache:epoch`: one counter for the whole tier;
 * - `<prefix>cache:entry:<epoch>.<generations…>:<key>`: each entry, with its TTL.
 *
 * A read gets the generations (one MGET), then the entry under them. An invalidation is one
 * INCR per tag, in one MULTI with the message that tells the other instances: entries of older
 * generations are never read again and expire by themselves. Nothing grows with a room's age,
 * nothing is scanned or deleted in bulk.
 *
 * An invalidation that cannot reach Redis (it is down or hung) is not kept tag by tag: when
 * Redis answers again the epoch moves, which retires every entry at once, before the tier is
 * used again.
 */
export class RedisCacheTier implements SharedCacheTier {
  /** Keyv on the same connection, for cache-manager's `CACHE_MANAGER`. */
  readonly keyv: Keyv;
  private readonly logger = new Logger('Cache');
  private readonly epochKey: string;
  private readonly generationPrefix: string;
  private readonly entryPrefix: string;
  private readonly previousReleaseTagPrefix: string;
  /** An invalidation was missed: the epoch must move before the tier is used again. */
  private missedInvalidation = false;
  /** Counts missed invalidations, so that a retirement only covers those before it began. */
  private misses = 0;
  private retiring: Promise<void> | undefined;

  constructor(
    private readonly connection: RedisConnection,
    private readonly metrics: CacheMetrics,
  ) {
    const prefix = connection.keyPrefix;
    this.epochKey = `${prefix}cache:epoch`;
    this.generationPrefix = `${prefix}cache:gen:`;
    this.entryPrefix = `${prefix}cache:entry:`;
    this.previousReleaseTagPrefix = `${prefix}cache:tag:`;
    this.keyv = new Keyv({
      store: new RedisKeyvStore(connection, `${prefix}cache:kv:`),
      useKeyPrefix: false,
    });
    connection.onAvailabilityChange(() => {
      if (this.missedInvalidation && connection.available) {
        void this.retireEverything();
      }
    });
  }

  private get usable(): boolean {
    return this.connection.available && !this.missedInvalidation;
  }

  health(): 'up' | 'degraded' {
    return this.usable ? 'up' : 'degraded';
  }

  async generations(tags: readonly string[]): Promise<TagGenerations | undefined> {
    if (!this.usable) {
      return undefined;
    }
    try {
      const values = await this.connection.run((client) => client.mget(this.generationKeys(tags)));
      return values.map((value) => value ?? '0');
    } catch {
      this.metrics.countTier('redis', 'errors');
      return undefined;
    }
  }

  async get<T>(key: string, generations: TagGenerations): Promise<SharedEntry<T> | undefined> {
    if (!this.usable) {
      return undefined;
    }
    let stored: string | null;
    try {
      stored = await this.connection.run((client) => client.get(this.entryKey(key, generations)));
    } catch {
      this.metrics.countTier('redis', 'errors');
      return undefined;
    }
    const entry = stored === null ? undefined : parseEntry<T>(stored);
    if (entry === undefined) {
      this.metrics.countTier('redis', 'misses');
      return undefined;
    }
    this.metrics.countTier('redis', 'hits');
    return { value: entry.value, expiresAt: entry.expiresAt };
  }

  async set<T>(
    key: string,
    tags: readonly string[],
    generations: TagGenerations,
    value: T,
    ttlMs: number,
  ): Promise<SharedWriteResult> {
    if (!this.usable) {
      return 'skipped';
    }
    const ttl = Math.ceil(ttlMs);
    const stored: StoredEntry<T> = { value, expiresAt: Date.now() + ttl };
    try {
      const written = await this.connection.run((client) =>
        client.eval(
          SET_IF_CURRENT_SCRIPT,
          1 + generations.length,
          this.entryKey(key, generations),
          ...this.generationKeys(tags),
          JSON.stringify(stored),
          ttl,
          ...generations,
        ),
      );
      if (Number(written) !== 1) {
        return 'stale';
      }
      this.metrics.countTier('redis', 'sets');
      return 'stored';
    } catch {
      this.metrics.countTier('redis', 'errors');
      return 'skipped';
    }
  }

  async invalidate(
    tags: readonly string[],
    publication?: RedisPublication,
  ): Promise<SharedInvalidationResult> {
    if (!this.connection.available) {
      this.missInvalidation();
      return 'pending';
    }
    try {
      await this.connection.run(async (client) => {
        const transaction = client.multi();
        for (const tag of tags) {
          transaction
            .incr(this.generationPrefix + tag)
            .pexpire(this.generationPrefix + tag, GENERATION_TTL_MS);
        }
        transaction.eval(
          DELETE_PREVIOUS_RELEASE_ENTRIES_SCRIPT,
          tags.length,
          ...tags.map((tag) => this.previousReleaseTagPrefix + tag),
        );
        if (publication) {
          transaction.publish(publication.channel, publication.message);
        }
        const replies = await transaction.exec();
        const failed = replies?.find(([error]) => error);
        if (!replies || failed) {
          throw failed?.[0] ?? new Error('the invalidation transaction was discarded');
        }
      });
      this.metrics.countTier('redis', 'invalidations', tags.length);
      return 'done';
    } catch {
      this.metrics.countTier('redis', 'errors');
      // It may still have reached Redis (a timeout); retiring everything covers both cases.
      this.missInvalidation();
      return 'pending';
    }
  }

  private missInvalidation(): void {
    this.misses += 1;
    if (!this.missedInvalidation) {
      this.missedInvalidation = true;
      this.logger.warn(
        'A cache invalidation could not reach Redis: the shared tier is retired as a whole when Redis answers again',
      );
    }
    if (this.connection.available) {
      void this.retireEverything();
    }
  }

  /** Moves the epoch: every entry stored so far is never read again. */
  private retireEverything(): Promise<void> {
    const missesBefore = this.misses;
    this.retiring ??= this.connection
      .run((client) => client.incr(this.epochKey))
      .then(
        () => {
          this.missedInvalidation = this.misses !== missesBefore;
          this.logger.log('The shared cache tier was retired after a missed invalidation');
        },
        () => this.metrics.countTier('redis', 'errors'),
      )
      .finally(() => {
        this.retiring = undefined;
      });
    return this.retiring;
  }

  /** The epoch first, then each tag's counter: what a key's generations are read from. */
  private generationKeys(tags: readonly string[]): string[] {
    return [this.epochKey, ...tags.map((tag) => this.generationPrefix + tag)];
  }

  private entryKey(key: string, generations: TagGenerations): string {
    return `${this.entryPrefix}${generations.join('.')}:${key}`;
  }
}

function parseEntry<T>(stored: string): StoredEntry<T> | undefined {
  try {
    const entry = JSON.parse(stored) as Partial<StoredEntry<T>> | null;
    return entry && 'value' in entry && typeof entry.expiresAt === 'number'
      ? (entry as StoredEntry<T>)
      : undefined;
  } catch {
    return undefined;
  }
}
