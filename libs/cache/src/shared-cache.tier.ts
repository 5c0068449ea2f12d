/** A value read from the shared tier, with when it expires there. */
export interface SharedEntry<T> {
  value: T;
  expiresAt: number | undefined;
}

/**
 * The current generations of a value's tags, read before its load. They are part of the key
 * the value is stored under: once a tag's generation moves, nobody reads that key again.
 */
export type TagGenerations = readonly string[];

export type SharedWriteResult = 'stored' | 'stale' | 'skipped';

/** A message to publish on Redis pub/sub in the same transaction as an invalidation. */
export interface RedisPublication {
  channel: string;
  message: Buffer;
}

/** What became of an invalidation in the shared tier. */
export type SharedInvalidationResult =
  /** Generations moved, and the publication (if any) went out in the same transaction. */
  | 'done'
  /** Redis is unavailable: it is applied (the whole tier invalidated) when Redis is back. */
  | 'pending';

/**
 * The tier shared by every instance (Redis). Every method fails open: when the tier is down or
 * slow it answers "nothing there" within the command timeout instead of throwing, and while
 * its circuit is open it answers at once.
 */
export interface SharedCacheTier {
  /** The current generation of each tag (one round trip), or undefined when the tier is unusable. */
  generations(tags: readonly string[]): Promise<TagGenerations | undefined>;
  /** The entry `key` (cached under `tags`) for `generations`, if there is one. */
  get<T>(
    key: string,
    tags: readonly string[],
    generations: TagGenerations,
  ): Promise<SharedEntry<T> | undefined>;
  /**
   * Stores `value` under `key` for `generations`, unless one of them moved since they were read
   * ('stale': a load that an invalidation overtook, which must not be kept anywhere).
   */
  set<T>(
    key: string,
    tags: readonly string[],
    generations: TagGenerations,
    value: T,
    ttlMs: number,
  ): Promise<SharedWriteResult>;
  /** Moves each tag's generation (one INCR each) and publishes `publication` atomically with it. */
  invalidate(
    tags: readonly string[],
    publication?: RedisPublication,
  ): Promise<SharedInvalidationResult>;
  health(): 'up' | 'degraded';
}
