import { OnApplicationShutdown } from '@nestjs/common';
import { ThrottlerStorage } from '@nestjs/throttler';
import { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';

interface Window {
  /** When the current window's count starts again from zero (epoch ms). */
  endsAt: number;
  hits: number;
  /** Past the limit: refused until then (epoch ms), 0 when not blocked. */
  blockedUntil: number;
}

/** How often windows that have ended are dropped, at most. */
const SWEEP_INTERVAL_MS = 10_000;

/**
 * In-process rate-limit counters: one fixed window per key, so a request costs one map lookup and
 * an addition, however busy the client. (The library's own storage keeps a timestamp per hit and
 * filters them all on every request: 40,000 entries for one busy client at a high limit.)
 *
 * Past `limit` within a window, the key is refused for `blockDuration` and then starts a fresh
 * window. A fixed window lets a client send up to twice the limit across a window boundary; for
 * a limit meant to stop floods, that is the accepted price of O(1).
 */
export class FixedWindowThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly windows = new Map<string, Window>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(sweepIntervalMs = SWEEP_INTERVAL_MS) {
    this.sweeper = setInterval(() => this.sweep(Date.now()), sweepIntervalMs);
    this.sweeper.unref();
  }

  increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
  ): Promise<ThrottlerStorageRecord> {
    return Promise.resolve(this.count(key, ttl, limit, blockDuration, Date.now()));
  }

  /** The same count, synchronously, for callers that cannot afford a promise. */
  count(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    now: number,
  ): ThrottlerStorageRecord {
    let window = this.windows.get(key);
    if (!window || (window.endsAt <= now && window.blockedUntil <= now)) {
      window = { endsAt: now + ttl, hits: 0, blockedUntil: 0 };
      this.windows.set(key, window);
    } else if (window.blockedUntil !== 0 && window.blockedUntil <= now) {
      // A block that has run out: the client starts over.
      window.endsAt = now + ttl;
      window.hits = 0;
      window.blockedUntil = 0;
    }
    if (window.blockedUntil === 0) {
      window.hits += 1;
      if (window.hits > limit) {
        window.blockedUntil = now + blockDuration;
      }
    }
    const isBlocked = window.blockedUntil > now;
    return {
      totalHits: window.hits,
      timeToExpire: secondsUntil(window.endsAt, now),
      isBlocked,
      timeToBlockExpire: isBlocked ? secondsUntil(window.blockedUntil, now) : 0,
    };
  }

  /** How many keys are being counted: what the sweep keeps bounded. */
  get size(): number {
    return this.windows.size;
  }

  sweep(now: number): void {
    for (const [key, window] of this.windows) {
      if (window.endsAt <= now && window.blockedUntil <= now) {
        this.windows.delete(key);
      }
    }
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweeper);
  }
}

function secondsUntil(time: number, now: number): number {
  return Math.ceil((time - now) / 1000);
}
