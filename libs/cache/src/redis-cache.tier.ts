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
 * not to keep it in memory). KEYS: the entry, then the generation keys (on one Redis the epoch
 * first; on a cluster it is in a slot of its own, and a load overtaken by a retirement is merely
 * unreachable). ARGV: the entry, its TTL in ms, then the generations of those keys.
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

/** A retirement that failed is tried again after this. */
const RETIRE_RETRY_MS = 1_000;

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
 * On a Redis Cluster the generation and entry keys of one scope (`room:<id>`, `user:<id>`: a
 * tag's first two parts, see `tagScope`) carry it as a hash tag, `<prefix>{room:<id>}:cache:…`,
 * so that the compare-and-set script and the invalidation's MULTI stay in one slot, and the
 * rooms spread over the primaries. The tags of one entry share a scope; an entry whose tags do
 * not is kept in the in-process tier only.
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
  private mixedScopesLogged = false;
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
    const scope = this.scopeOf(tags);
    if (!this.usable || scope === undefined) {
      return undefined;
    }
    const tagKeys = tags.map((tag) => this.generationKey(scope, tag));
    try {
      const values = await this.connection.run((client) =>
        this.connection.isCluster
          ? // The epoch is in a slot of its own: two reads, sent together.
            Promise.all([client.get(this.epochKey), client.mget(tagKeys)]).then(
              ([epoch, generations]) => [epoch, ...generations],
            )
          : client.mget(this.epochKey, ...tagKeys),
      );
      return values.map((value) => value ?? '0');
    } catch {
      this.metrics.countTier('redis', 'errors');
      return undefined;
    }
  }

  async get<T>(
    key: string,
    tags: readonly string[],
    generations: TagGenerations,
  ): Promise<SharedEntry<T> | undefined> {
    const scope = this.scopeOf(tags);
    if (!this.usable || scope === undefined) {
      return undefined;
    }
    let stored: string | null;
    try {
      stored = await this.connection.run((client) =>
        client.get(this.entryKey(scope, key, generations)),
      );
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
    const scope = this.scopeOf(tags);
    if (!this.usable || scope === undefined) {
      return 'skipped';
    }
    const ttl = Math.ceil(ttlMs);
    const stored: StoredEntry<T> = { value, expiresAt: Date.now() + ttl };
    const tagKeys = tags.map((tag) => this.generationKey(scope, tag));
    // generations[0] is the epoch's: checked here on one Redis, where it shares the slot.
    const [checkedKeys, checkedGenerations] = this.connection.isCluster
      ? [tagKeys, generations.slice(1)]
      : [[this.epochKey, ...tagKeys], generations];
    try {
      const written = await this.connection.run((client) =>
        client.eval(
          SET_IF_CURRENT_SCRIPT,
          1 + checkedKeys.length,
          this.entryKey(scope, key, generations),
          ...checkedKeys,
          JSON.stringify(stored),
          ttl,
          ...checkedGenerations,
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
    const byScope = new Map<string, string[]>();
    for (const tag of tags) {
      const scope = tagScope(tag);
      byScope.set(scope, [...(byScope.get(scope) ?? []), tag]);
    }
    if (publication && byScope.size > 1) {
      throw new Error('An invalidation published with the bump covers one scope of tags');
    }
    try {
      // One MULTI per scope: each stays in its slot on a cluster.
      await Promise.all(
        [...byScope].map(([scope, scopeTags]) =>
          this.connection.run(async (client) => {
            const transaction = client.multi();
            for (const tag of scopeTags) {
              const key = this.generationKey(scope, tag);
              transaction.incr(key).pexpire(key, GENERATION_TTL_MS);
            }
            if (publication) {
              transaction.publish(publication.channel, publication.message);
            }
            const replies = await transaction.exec();
            const failed = replies?.find(([error]) => error);
            if (!replies || failed) {
              throw failed?.[0] ?? new Error('the invalidation transaction was discarded');
            }
          }),
        ),
      );
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
        () => {
          this.metrics.countTier('redis', 'errors');
          // Redis is back but refused (a cluster still settling): the tier stays unusable
          // until the epoch moves, so try again rather than wait for the next outage.
          setTimeout(() => {
            if (this.missedInvalidation && this.connection.available) {
              void this.retireEverything();
            }
          }, RETIRE_RETRY_MS).unref();
        },
      )
      .finally(() => {
        this.retiring = undefined;
      });
    return this.retiring;
  }

  private generationKey(scope: string, tag: string): string {
    return `${this.connection.slotGroup(scope)}cache:gen:${tag}`;
  }

  private entryKey(scope: string, key: string, generations: TagGenerations): string {
    return `${this.connection.slotGroup(scope)}cache:entry:${generations.join('.')}:${key}`;
  }

  /** The one scope of `tags`; undefined (logged once) when they span several. */
  private scopeOf(tags: readonly string[]): string | undefined {
    const scope = tagScope(tags[0] ?? '');
    if (tags.every((tag) => tagScope(tag) === scope)) {
      return scope;
    }
    if (!this.mixedScopesLogged) {
      this.mixedScopesLogged = true;
      this.logger.warn(
        `Tags of more than one scope (${tags.join(', ')}) cannot share a Redis slot: such entries are cached in-process only`,
      );
    }
    return undefined;
  }
}

/**
 * A tag's scope: its first two ':'-separated parts (`room:<id>` of `room:<id>:details`). The keys
 * of one scope share a slot on a Redis Cluster.
 */
export function tagScope(tag: string): string {
  const first = tag.indexOf(':');
  const second = first < 0 ? -1 : tag.indexOf(':', first + 1);
  return second < 0 ? tag : tag.slice(0, second);
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
