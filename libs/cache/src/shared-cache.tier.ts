/** A value read from the shared tier, with when it expires there. */
export interface SharedEntry<T> {
  value: T;
  expiresAt: number | undefined;
}

/** Per-tag generations read before a load; a write succeeds only if they are still current. */
export type TagGenerations = readonly string[];

export type SharedWriteResult = 'stored' | 'stale' | 'skipped';

/**
 * The tier shared by every instance (Redis). Every method fails open: when the tier is down or
 * slow it answers "nothing there" / "skipped" within the command timeout instead of throwing.
 */
export interface SharedCacheTier {
  get<T>(key: string): Promise<SharedEntry<T> | undefined>;
  /** The current generation of each tag, or undefined when the tier cannot tell. */
  generations(tags: readonly string[]): Promise<TagGenerations | undefined>;
  /**
   * Stores `value` under `key` and records it under `tags`, atomically and only if no tag's
   * generation moved since `generations` were read: a load that an invalidation overtook is
   * never written back.
   */
  setIfCurrent<T>(
    key: string,
    value: T,
    tags: readonly string[],
    generations: TagGenerations,
    ttlMs: number,
  ): Promise<SharedWriteResult>;
  /** Bumps each tag's generation and removes every entry recorded under it, on every instance. */
  invalidate(tags: readonly string[]): Promise<void>;
  health(): 'up' | 'degraded';
}
