import { Injectable, Logger } from '@nestjs/common';
import { BusUnavailableError, MessageBus } from '@libs/bus';
import {
  CacheInvalidation,
  CacheInvalidationChannel,
  CacheInvalidationListener,
  RedisPublication,
} from '@libs/cache';

/** The bus channel that carries cache invalidations between instances. */
export const CACHE_INVALIDATION_BUS_CHANNEL = 'cache:invalidate';

/**
 * How long a write waits for the bus to take an invalidation. The bus rejects at once while
 * Redis is disconnected, but a frozen Redis would hold a publish for the bus's command timeout
 * (seconds): the write is acknowledged after this instead, and the other instances' in-process
 * tier (at most 5 s with Redis) bounds how long they can serve what it changed.
 */
export const CACHE_INVALIDATION_PUBLISH_TIMEOUT_MS = 200;

/**
 * Cache invalidations over the MessageBus: in-process without `REDIS_URL`, Redis pub/sub with
 * it. At most once, like the bus; `publish` fails fast and `CacheService` never lets its failure
 * fail the write.
 */
@Injectable()
export class BusCacheInvalidationChannel extends CacheInvalidationChannel {
  private readonly logger = new Logger(BusCacheInvalidationChannel.name);

  constructor(private readonly bus: MessageBus) {
    super();
  }

  async publish(invalidation: CacheInvalidation): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new BusUnavailableError(
              `The bus did not take a cache invalidation within ${CACHE_INVALIDATION_PUBLISH_TIMEOUT_MS} ms`,
            ),
          ),
        CACHE_INVALIDATION_PUBLISH_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([this.bus.publish(CACHE_INVALIDATION_BUS_CHANNEL, invalidation), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  override redisPublication(invalidation: CacheInvalidation): RedisPublication | undefined {
    return this.bus.redisPublication(CACHE_INVALIDATION_BUS_CHANNEL, invalidation);
  }

  onInvalidate(listener: CacheInvalidationListener): () => void {
    const subscription = this.bus.subscribe(CACHE_INVALIDATION_BUS_CHANNEL, (message) => {
      const invalidation = message.json<unknown>();
      if (isCacheInvalidation(invalidation)) {
        listener(invalidation);
      }
    });
    subscription.catch((error: unknown) =>
      // Without it this instance hears no other's writes: its in-process entries live out
      // their (short, with Redis) TTL.
      this.logger.error(
        `Cannot subscribe to "${CACHE_INVALIDATION_BUS_CHANNEL}": ${error instanceof Error ? error.message : String(error)}`,
      ),
    );
    return () => {
      subscription.then(
        (unsubscribe) => unsubscribe(),
        () => undefined,
      );
    };
  }
}

function isCacheInvalidation(value: unknown): value is CacheInvalidation {
  const candidate = value as Partial<CacheInvalidation> | null;
  return (
    typeof candidate?.origin === 'string' &&
    Array.isArray(candidate.tags) &&
    candidate.tags.every((tag) => typeof tag === 'string')
  );
}
