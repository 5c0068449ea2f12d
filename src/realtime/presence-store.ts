import { Logger, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { createFailFastRedis } from '@app/common/redis-client';

/** A connection that stops refreshing its presence (its instance died) counts as gone after this. */
export const PRESENCE_TTL_MS = 90_000;

/**
 * Who is in which room, counted per connection across the fleet. `enter` says whether this was
 * the user's first connection in the room (→ online), `exit` whether it was the last (→ offline):
 * a user with two connections is offline only when both are gone, on whatever instances.
 */
export abstract class PresenceStore {
  abstract enter(roomId: string, userId: string, connectionId: string): Promise<boolean>;
  abstract exit(roomId: string, userId: string, connectionId: string): Promise<boolean>;
  /** Keeps the entries of live connections from expiring (called on every heartbeat). */
  abstract refresh(
    entries: { roomId: string; userId: string; connectionId: string }[],
  ): Promise<void>;
}

/** One process: the counts are local. */
export class InMemoryPresenceStore extends PresenceStore {
  private readonly connections = new Map<string, Set<string>>();

  enter(roomId: string, userId: string, connectionId: string): Promise<boolean> {
    const key = `${roomId}:${userId}`;
    const set = this.connections.get(key) ?? new Set<string>();
    this.connections.set(key, set);
    const first = set.size === 0;
    set.add(connectionId);
    return Promise.resolve(first);
  }

  exit(roomId: string, userId: string, connectionId: string): Promise<boolean> {
    const key = `${roomId}:${userId}`;
    const set = this.connections.get(key);
    if (!set?.delete(connectionId)) {
      return Promise.resolve(false);
    }
    if (set.size === 0) {
      this.connections.delete(key);
      return Promise.resolve(true);
    }
    return Promise.resolve(false);
  }

  refresh(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * The fleet: one sorted set per (room, user) in Redis, of connection ids scored by when they
 * expire. Each change is one MULTI (atomic), so two instances never both announce the same
 * transition. Entries of a crashed instance expire after PRESENCE_TTL_MS. While Redis is away,
 * presence is not announced (it is best-effort, like live delivery).
 */
export class RedisPresenceStore extends PresenceStore implements OnApplicationShutdown {
  private readonly logger = new Logger(RedisPresenceStore.name);
  private readonly redis: Redis;

  constructor(url: string, keyPrefix: string) {
    super();
    this.redis = createFailFastRedis(url, `${keyPrefix}presence:`, 'presence');
  }

  async enter(roomId: string, userId: string, connectionId: string): Promise<boolean> {
    const now = Date.now();
    const results = await this.run(
      this.redis
        .multi()
        .zremrangebyscore(`${roomId}:${userId}`, '-inf', now)
        .zadd(`${roomId}:${userId}`, now + PRESENCE_TTL_MS, connectionId)
        .zcard(`${roomId}:${userId}`)
        .pexpire(`${roomId}:${userId}`, PRESENCE_TTL_MS),
    );
    return results !== undefined && results[1] === 1 && results[2] === 1;
  }

  async exit(roomId: string, userId: string, connectionId: string): Promise<boolean> {
    const now = Date.now();
    const results = await this.run(
      this.redis
        .multi()
        .zremrangebyscore(`${roomId}:${userId}`, '-inf', now)
        .zrem(`${roomId}:${userId}`, connectionId)
        .zcard(`${roomId}:${userId}`),
    );
    return results !== undefined && results[1] === 1 && results[2] === 0;
  }

  async refresh(
    entries: { roomId: string; userId: string; connectionId: string }[],
  ): Promise<void> {
    if (entries.length === 0) {
      return;
    }
    const expiresAt = Date.now() + PRESENCE_TTL_MS;
    const pipeline = this.redis.pipeline();
    for (const { roomId, userId, connectionId } of entries) {
      // Not XX: after a Redis restart (nothing persisted) this puts live connections back, so
      // their later `exit` still announces offline.
      pipeline.zadd(`${roomId}:${userId}`, expiresAt, connectionId);
      pipeline.pexpire(`${roomId}:${userId}`, PRESENCE_TTL_MS);
    }
    await this.run(pipeline);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  /** The transaction's results, or undefined when Redis could not run it. */
  private async run(batch: ReturnType<Redis['multi']>): Promise<unknown[] | undefined> {
    try {
      const replies = await batch.exec();
      return replies?.map(([error, value]) => {
        if (error) {
          throw error;
        }
        return value;
      });
    } catch (error) {
      this.logger.debug(`Presence not updated: ${(error as Error).message}`);
      return undefined;
    }
  }
}
