/** What a token bucket needs to remember: a few numbers, no timer. */
export interface TokenBucketState {
  tokens: number;
  updatedAt: number;
}

/**
 * Takes a token from `state` if there is one: `ratePerSecond` tokens come back a second, up to
 * `burst` saved. A function over plain fields, so that an object that holds them (a connection)
 * needs no bucket object of its own.
 */
export function takeToken(
  state: TokenBucketState,
  ratePerSecond: number,
  burst: number,
  now: number,
): boolean {
  state.tokens = Math.min(burst, state.tokens + ((now - state.updatedAt) / 1000) * ratePerSecond);
  state.updatedAt = now;
  if (state.tokens < 1) {
    return false;
  }
  state.tokens -= 1;
  return true;
}

/** A token bucket as an object of its own. */
export class TokenBucket implements TokenBucketState {
  tokens: number;
  updatedAt: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.updatedAt = now();
  }

  /** Takes a token if there is one. */
  tryTake(): boolean {
    return takeToken(this, this.ratePerSecond, this.burst, this.now());
  }
}
