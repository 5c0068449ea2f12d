import { TokenBucket } from './rate-limiter';

/** Why an upgrade was not admitted: the pace (the bucket is empty) or too many being verified. */
export type AdmissionRefusal = 'accept_rate' | 'accept_concurrency';

export interface AdmissionLimits {
  ratePerSecond: number;
  burst: number;
  concurrency: number;
}

/**
 * How fast this instance takes WebSocket upgrades, whoever sends them: when an instance dies, all
 * of its clients come to the survivors at once, and each upgrade costs a token check, a login
 * lookup, then joins and `sync`s. Admitted upgrades take a token from a bucket and hold one of
 * `concurrency` places until their verification has answered; the rest are told to come back
 * later, before any of that work is done.
 */
export class UpgradeAdmission {
  private readonly bucket: TokenBucket;
  private verifying = 0;

  constructor(
    private readonly limits: AdmissionLimits,
    now: () => number = Date.now,
  ) {
    this.bucket = new TokenBucket(limits.ratePerSecond, limits.burst, now);
  }

  /** Upgrades admitted and not yet released. */
  get inFlight(): number {
    return this.verifying;
  }

  /** Admits one upgrade (call `release()` once it is decided), or says why not. */
  tryAdmit(): AdmissionRefusal | undefined {
    // The bound first: a refusal for it must not spend the pace's token.
    if (this.verifying >= this.limits.concurrency) {
      return 'accept_concurrency';
    }
    if (!this.bucket.tryTake()) {
      return 'accept_rate';
    }
    this.verifying += 1;
    return undefined;
  }

  release(): void {
    this.verifying = Math.max(0, this.verifying - 1);
  }
}
