import type { ThrottlerStorage } from '@nestjs/throttler';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import type { RedisCommands } from '@libs/redis';

/**
 * The fleet's rate-limit counters in Redis, with the semantics of `FixedWindowThrottlerStorage`:
 * one fixed window per key; past `limit` within it, the key is refused for `blockDuration`, and
 * then a fresh window starts. One pipelined round trip of four plain commands a request (a window
 * started if none, the hit counted, what is left of the window and of a block), no Lua: the
 * library's script, sent whole with EVAL on every request, cost Redis about 8.7 µs a request
 * (INFO commandstats under the ws-peer bench), these about 2. A second round trip only when a key
 * crosses its limit.
 *
 * Keys as `@nest-lab/throttler-storage-redis` names them (`{<key>:<throttler>}:hits` and
 * `:blocked`, one hash slot each), so instances of the previous release count in the same keys
 * during a rolling upgrade.
 */
export class RedisFixedWindowCounter implements ThrottlerStorage {
  constructor(private readonly client: RedisCommands) {}

  increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    return this.add(key, 1, ttl, limit, blockDuration, throttlerName);
  }

  /** `hits` at once: what an instance counted since it last settled (SettledRateLimit). */
  async add(
    key: string,
    hits: number,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    const hitKey = `{${key}:${throttlerName}}:hits`;
    const blockKey = `{${key}:${throttlerName}}:blocked`;
    const replies = await this.client
      .pipeline()
      .set(hitKey, 0, 'PX', ttl, 'NX')
      .incrby(hitKey, hits)
      .pttl(hitKey)
      .pttl(blockKey)
      .exec();
    const [total, windowLeftMs, blockLeftMs] = [1, 2, 3].map((index) =>
      Number(settledReply(replies, index)),
    );
    let windowMs = windowLeftMs;
    if (windowMs < 0) {
      // The window ended between SET and INCR: this hit opened a key of its own, without a TTL.
      await this.client.pexpire(hitKey, ttl);
      windowMs = ttl;
    }
    if (blockLeftMs > 0) {
      return record(total, windowMs, blockLeftMs);
    }
    if (total > limit) {
      // Blocked from now on; the window ends with the block, so the client then starts over.
      const block = Math.max(1, blockDuration);
      const set = await this.client
        .pipeline()
        .set(blockKey, 1, 'PX', block)
        .pexpire(hitKey, block)
        .exec();
      // Both must have run: the block, and the window ending with it.
      settledReply(set, 0);
      settledReply(set, 1);
      return record(total, block, block);
    }
    return record(total, windowMs, 0);
  }
}

function record(hits: number, windowMs: number, blockMs: number): ThrottlerStorageRecord {
  return {
    totalHits: hits,
    timeToExpire: Math.ceil(windowMs / 1000),
    isBlocked: blockMs > 0,
    timeToBlockExpire: Math.ceil(blockMs / 1000),
  };
}

/** The pipeline's reply at `index`; throws its error, or when it was not run. */
function settledReply(replies: [Error | null, unknown][] | null, index: number): unknown {
  const reply = replies?.[index];
  if (!reply) {
    throw new Error('the rate-limit pipeline was not run');
  }
  if (reply[0]) {
    throw reply[0];
  }
  return reply[1];
}
