import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { CacheInvalidation, CacheInvalidationChannel } from './cache-invalidation.channel';
import { CacheMetrics } from './cache-metrics';
import { CACHE_OPTIONS, SHARED_CACHE_TIER } from './cache.constants';
import { CacheOptions } from './cache-options';
import { MemoryCacheTier } from './memory-cache.tier';
import { SharedCacheTier } from './shared-cache.tier';

export interface CacheEntryOptions {
  key: string;
  /** What the value depends on; `invalidateTags` with any of them removes it. */
  tags: readonly string[];
  ttlMs: number;
  /**
   * A load that an invalidation of its tags overtook is done again before anyone gets it: for
   * decisions (access) that a request which began before the write must not act on.
   */
  reloadIfOvertaken?: boolean;
}

/** Where a value came from: a tier (a hit), this request's load, or another request's. */
export type CacheSource = 'memory' | 'redis' | 'loader' | 'coalesced';

export interface CacheResult<T> {
  value: T;
  source: CacheSource;
}

export interface CacheHealth {
  /** `disabled` without `REDIS_URL`; `degraded` while Redis is down or slow (the cache fails open). */
  redis: 'up' | 'degraded' | 'disabled';
}

/** A load in progress. `stale` once an invalidation of one of its tags overtook it. */
interface Flight {
  key: string;
  tags: readonly string[];
  stale: boolean;
  reloadIfOvertaken: boolean;
  result?: Promise<CacheResult<unknown>>;
}

/**
 * Tagged caching over the in-process tier and, with `REDIS_URL`, the Redis tier behind it.
 *
 * - Reads: memory, then Redis (which backfills memory), then the loader. Concurrent misses of
 *   one key on this instance share one load (single flight).
 * - A slow load cannot put back what a write just invalidated: in memory, an invalidation marks
 *   the flight stale and its value is not stored; in Redis, the value lands under the tag
 *   generations read before the load, which the invalidation made obsolete.
 * - `invalidateTags` empties this instance at once, then Redis, then tells the other instances
 *   through the `CacheInvalidationChannel`; a writer awaits it before acknowledging the write.
 */
@Injectable()
export class CacheService implements OnModuleInit, OnModuleDestroy {
  private readonly origin = randomUUID();
  private readonly flights = new Map<string, Flight>();
  private readonly flightsByTag = new Map<string, Set<Flight>>();
  private readonly logger = new Logger('Cache');
  private stopListening: (() => void) | undefined;
  /** Publishing has failed since the last success: warned once, until it works again. */
  private publishFailing = false;

  constructor(
    private readonly memory: MemoryCacheTier,
    @Inject(SHARED_CACHE_TIER) private readonly shared: SharedCacheTier | null,
    private readonly channel: CacheInvalidationChannel,
    private readonly metrics: CacheMetrics,
    @Inject(CACHE_OPTIONS) private readonly options: Pick<CacheOptions, 'memory'>,
  ) {}

  onModuleInit(): void {
    this.stopListening = this.channel.onInvalidate((invalidation) => {
      if (invalidation.origin !== this.origin) {
        this.invalidateLocally(invalidation.tags);
      }
    });
  }

  onModuleDestroy(): void {
    this.stopListening?.();
  }

  /**
   * The cached value of `key`, or `loader()`'s, which is then cached under `tags` for `ttlMs`.
   * An error from the loader reaches every request waiting for it and is not cached; neither is
   * `undefined`. Cached values are shared: treat them as immutable. A `ttlMs` of 0 (caching
   * turned off) only calls the loader.
   */
  async getOrLoad<T>(entry: CacheEntryOptions, loader: () => Promise<T>): Promise<CacheResult<T>> {
    if (!(entry.ttlMs > 0)) {
      return { value: await loader(), source: 'loader' };
    }
    const cached = this.memory.get<T>(entry.key);
    if (cached !== undefined) {
      return { value: cached, source: 'memory' };
    }
    const inFlight = this.flights.get(entry.key);
    if (inFlight?.result) {
      this.metrics.count('coalesced');
      const { value, source } = (await inFlight.result) as CacheResult<T>;
      return { value, source: source === 'loader' ? 'coalesced' : source };
    }
    const flight: Flight = {
      key: entry.key,
      tags: entry.tags,
      stale: false,
      reloadIfOvertaken: entry.reloadIfOvertaken === true,
    };
    this.startFlight(flight);
    const result = this.fill(flight, entry.ttlMs, loader).finally(() => this.endFlight(flight));
    flight.result = result;
    return result;
  }

  /**
   * The in-process tier's value of `key`, synchronously; undefined on a miss, which is not
   * counted: the `getOrLoad` that follows a miss counts it.
   */
  peek<T>(key: string): T | undefined {
    return this.memory.peek<T>(key);
  }

  /**
   * Removes every entry stored under any of `tags`: on this instance before it returns, in
   * Redis (or, if Redis is down, as soon as it is back), and on the other instances as fast as
   * the invalidation channel delivers. Never throws: the cache fails open.
   */
  async invalidateTags(tags: readonly string[]): Promise<void> {
    const unique = [...new Set(tags)];
    if (unique.length === 0) {
      return;
    }
    this.invalidateLocally(unique);
    const invalidation: CacheInvalidation = { tags: unique, origin: this.origin };
    try {
      if (this.shared) {
        // Redis before the others hear of it, or one of them could refill from the stale entry:
        // the message goes out in the same transaction as the generation bump when it can.
        const publication = this.channel.redisPublication?.(invalidation);
        const result = await this.shared.invalidate(unique, publication);
        if (result === 'done' && publication) {
          this.publishSucceeded();
          return;
        }
      }
      await this.channel.publish(invalidation);
      this.publishSucceeded();
    } catch (error) {
      this.metrics.count('publishErrors');
      if (!this.publishFailing) {
        this.publishFailing = true;
        // Once per outage: every write fails to publish while the bus is down.
        this.logger.warn(
          `Could not publish a cache invalidation (${error instanceof Error ? error.message : String(error)}); other instances keep in-process entries until they expire, until publishing works again`,
        );
      }
    }
  }

  private publishSucceeded(): void {
    if (this.publishFailing) {
      this.publishFailing = false;
      this.logger.log('Cache invalidations reach the other instances again');
    }
  }

  health(): CacheHealth {
    return { redis: this.shared ? this.shared.health() : 'disabled' };
  }

  /** This instance only: what a message from another instance triggers. */
  private invalidateLocally(tags: readonly string[]): void {
    for (const tag of tags) {
      for (const flight of this.flightsByTag.get(tag) ?? []) {
        flight.stale = true;
        // Requests from now on start a fresh load instead of joining this one.
        if (this.flights.get(flight.key) === flight) {
          this.flights.delete(flight.key);
        }
      }
    }
    this.memory.invalidate(tags);
  }

  private async fill<T>(
    flight: Flight,
    ttlMs: number,
    loader: () => Promise<T>,
  ): Promise<CacheResult<T>> {
    // Read before the load: a write that commits after this point moves a generation, and the
    // value loaded here then lands under a key that nobody reads any more.
    const generations = await this.shared?.generations(flight.tags);
    const sharedEntry =
      generations && (await this.shared?.get<T>(flight.key, flight.tags, generations));
    if (sharedEntry) {
      if (!flight.stale) {
        const remainingMs = (sharedEntry.expiresAt ?? Infinity) - Date.now();
        this.memory.set(flight.key, sharedEntry.value, flight.tags, this.memoryTtl(remainingMs));
        return { value: sharedEntry.value, source: 'redis' };
      }
      return this.overtaken(flight, sharedEntry.value, 'redis', loader);
    }
    this.metrics.count('loads');
    const value = await loader();
    if (value === undefined) {
      return { value, source: 'loader' };
    }
    if (flight.stale) {
      this.metrics.count('discardedLoads');
      return this.overtaken(flight, value, 'loader', loader);
    }
    if (this.shared && generations) {
      const written = await this.shared.set(flight.key, flight.tags, generations, value, ttlMs);
      if (written === 'stale' || flight.stale) {
        this.metrics.count('discardedLoads');
        return this.overtaken(flight, value, 'loader', loader);
      }
    }
    this.memory.set(flight.key, value, flight.tags, this.memoryTtl(ttlMs));
    return { value, source: 'loader' };
  }

  /** A value an invalidation overtook: not stored; loaded once more when the entry asks for it. */
  private async overtaken<T>(
    flight: Flight,
    value: T,
    source: CacheSource,
    loader: () => Promise<T>,
  ): Promise<CacheResult<T>> {
    if (!flight.reloadIfOvertaken) {
      return { value, source };
    }
    // Begun after the invalidation, so after the write that caused it had committed.
    return { value: await loader(), source: 'loader' };
  }

  private memoryTtl(ttlMs: number): number {
    return this.shared ? Math.min(ttlMs, this.options.memory.frontTtlMs) : ttlMs;
  }

  private startFlight(flight: Flight): void {
    this.flights.set(flight.key, flight);
    for (const tag of flight.tags) {
      let flights = this.flightsByTag.get(tag);
      if (!flights) {
        flights = new Set();
        this.flightsByTag.set(tag, flights);
      }
      flights.add(flight);
    }
  }

  private endFlight(flight: Flight): void {
    if (this.flights.get(flight.key) === flight) {
      this.flights.delete(flight.key);
    }
    for (const tag of flight.tags) {
      const flights = this.flightsByTag.get(tag);
      flights?.delete(flight);
      if (flights?.size === 0) {
        this.flightsByTag.delete(tag);
      }
    }
  }
}
