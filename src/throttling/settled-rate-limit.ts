import { Logger } from '@nestjs/common';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import type { RedisConnection } from '@libs/redis';
import { OutageNotice } from './outage-notice';
import { RedisFixedWindowCounter } from './redis-fixed-window.counter';

/** How long an instance's counts wait before they are added to the fleet's. */
export const SETTLE_EVERY_MS = 100;

interface Window {
  /** The fleet's count of the window when last settled, plus what this instance added since. */
  hits: number;
  /** What this instance counted since it last settled. */
  unsettled: number;
  /** When the window ends (epoch ms). */
  endsAt: number;
  /** Refused until then (epoch ms); 0 when not blocked. */
  blockedUntil: number;
}

export interface SettledLimit {
  limit: number;
  /** The window, and the block past the limit (ms). */
  ttlMs: number;
}

/**
 * A fleet-wide rate limit that costs no round trip per hit: each instance counts in its own fixed
 * windows at once, and every `SETTLE_EVERY_MS` adds what it counted to the fleet's windows in
 * Redis (the same keys and semantics as `RedisFixedWindowCounter`, one pipeline per key with
 * hits) and takes back the fleet's totals and blocks. For the WebSocket connect limit, checked on
 * every upgrade: a per-hit round trip was the largest part of a handshake's cost with Redis
 * (75 µs of server CPU and 23 µs of Redis a connection in the ws-peer bench).
 *
 * The price is a lag: another instance's hits are seen up to `SETTLE_EVERY_MS` late, so the fleet
 * can pass the limit by what it accepts in that time before every instance refuses. A client
 * past the limit is refused at once by the instance that counted it, and by all of them after
 * the next settle.
 *
 * Without Redis (or while it is unavailable) the local windows are the limit: it then holds per
 * instance, as the other rate limits do (guarantee 7).
 */
export class SettledRateLimit {
  private readonly windows = new Map<string, Window>();
  private readonly fleet: RedisFixedWindowCounter | undefined;
  private timer: NodeJS.Timeout | undefined;
  private settling: Promise<void> | undefined;
  private readonly outage: OutageNotice;

  constructor(
    private readonly name: string,
    private readonly options: SettledLimit,
    private readonly redis: RedisConnection | null,
  ) {
    this.fleet = redis ? new RedisFixedWindowCounter(redis.client) : undefined;
    this.outage = new OutageNotice(new Logger(SettledRateLimit.name), `${name} limits`);
  }

  /** Counts a hit on `key`; answers seconds to wait when it is refused, else 0. */
  hit(key: string, now = Date.now()): number {
    let window = this.windows.get(key);
    if (!window || (window.endsAt <= now && window.blockedUntil <= now)) {
      window = { hits: 0, unsettled: 0, endsAt: now + this.options.ttlMs, blockedUntil: 0 };
      this.windows.set(key, window);
    }
    if (window.blockedUntil > now) {
      return Math.max(1, Math.ceil((window.blockedUntil - now) / 1000));
    }
    window.hits += 1;
    window.unsettled += 1;
    this.settleSoon();
    if (window.hits > this.options.limit) {
      window.blockedUntil = now + this.options.ttlMs;
      window.endsAt = window.blockedUntil;
      return Math.max(1, Math.ceil(this.options.ttlMs / 1000));
    }
    return 0;
  }

  /** Keys with a window still counted (ended ones are forgotten at the next settle). */
  get trackedKeys(): number {
    return this.windows.size;
  }

  /** Adds every unsettled count to the fleet's now; resolves when done (tests, shutdown). */
  async settle(now = Date.now()): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.settling) {
      await this.settling;
    }
    this.settling = this.settleNow(now).finally(() => (this.settling = undefined));
    await this.settling;
  }

  /** Also without Redis: a settle is when ended windows are forgotten. */
  private settleSoon(): void {
    if (this.timer === undefined) {
      this.timer = setTimeout(() => void this.settle(), SETTLE_EVERY_MS).unref();
    }
  }

  private async settleNow(now: number): Promise<void> {
    const due = [...this.windows].filter(([, window]) => window.unsettled > 0);
    const fleet = this.fleet;
    const redis = fleet && this.redis?.available ? this.redis : undefined;
    if (!redis) {
      // Counted here only: nothing to add later to a window the fleet may have started anew.
      for (const [, window] of due) {
        window.unsettled = 0;
      }
      if (this.redis) {
        this.outage.failedOver('circuit open');
      }
    }
    this.forgetEnded(now);
    if (!redis || !fleet || due.length === 0) {
      return;
    }
    await Promise.all(
      due.map(async ([key, window]) => {
        const unsettled = window.unsettled;
        window.unsettled = 0;
        try {
          const record = await redis.run(() =>
            fleet.add(
              `${redis.keyPrefix}throttle:${key}`,
              unsettled,
              this.options.ttlMs,
              this.options.limit,
              this.options.ttlMs,
              this.name,
            ),
          );
          this.adopt(window, record, Date.now());
          this.outage.recovered();
        } catch (error) {
          // Counted here all the same: the local window goes on as the limit.
          this.outage.failedOver((error as Error).message);
        }
      }),
    );
  }

  /** The fleet's view replaces this instance's, with what was counted meanwhile on top. */
  private adopt(window: Window, record: ThrottlerStorageRecord, now: number): void {
    window.hits = record.totalHits + window.unsettled;
    window.endsAt = now + record.timeToExpire * 1000;
    if (record.isBlocked) {
      window.blockedUntil = Math.max(window.blockedUntil, now + record.timeToBlockExpire * 1000);
    }
  }

  private forgetEnded(now: number): void {
    for (const [key, window] of this.windows) {
      if (window.unsettled === 0 && window.endsAt <= now && window.blockedUntil <= now) {
        this.windows.delete(key);
      }
    }
  }
}
