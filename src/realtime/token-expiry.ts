/** Something that ends when its access token expires. */
export interface Expiring {
  /** When the token expires (ms since the epoch). */
  readonly expiresAtMs: number;
  /** False once it closed (or is closing): it is not scheduled again. */
  readonly isOpen: boolean;
  /** The bucket the schedule keeps it in, or undefined; only TokenExpirySchedule writes it. */
  expiryBucket: number | undefined;
  expire(): void;
}

/** How often the schedule looks for expired tokens: a connection lives at most this much longer. */
export const EXPIRY_RESOLUTION_MS = 1000;

/**
 * Expiring connections in buckets of one second, and one timer for all of them: a connection costs
 * one Set entry instead of a timer of its own (Node keeps a list per distinct timer duration, and
 * token lifetimes make every duration distinct).
 */
export class TokenExpirySchedule {
  private readonly buckets = new Map<number, Set<Expiring>>();
  private timer: NodeJS.Timeout | undefined;
  private scheduled = 0;

  /** Items scheduled. */
  get size(): number {
    return this.scheduled;
  }

  start(): void {
    this.timer = setInterval(() => this.expireDue(Date.now()), EXPIRY_RESOLUTION_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /**
   * (Re)schedules `item` for its current `expiresAtMs`. A closed item is left alone: a renewal
   * verified after its socket closed (and was cancelled) must not put it back.
   */
  schedule(item: Expiring): void {
    if (!item.isOpen) {
      return;
    }
    this.cancel(item);
    const bucket = Math.ceil(item.expiresAtMs / EXPIRY_RESOLUTION_MS);
    let members = this.buckets.get(bucket);
    if (!members) {
      members = new Set();
      this.buckets.set(bucket, members);
    }
    members.add(item);
    this.scheduled += 1;
    item.expiryBucket = bucket;
  }

  cancel(item: Expiring): void {
    if (item.expiryBucket === undefined) {
      return;
    }
    const members = this.buckets.get(item.expiryBucket);
    if (members?.delete(item)) {
      this.scheduled -= 1;
    }
    if (members?.size === 0) {
      this.buckets.delete(item.expiryBucket);
    }
    item.expiryBucket = undefined;
  }

  /** Expires everything due by `nowMs`. Public for tests. */
  expireDue(nowMs: number): void {
    const due = Math.floor(nowMs / EXPIRY_RESOLUTION_MS);
    for (const [bucket, members] of this.buckets) {
      if (bucket > due) {
        continue;
      }
      this.buckets.delete(bucket);
      this.scheduled -= members.size;
      for (const item of members) {
        item.expiryBucket = undefined;
        item.expire();
      }
    }
  }
}
