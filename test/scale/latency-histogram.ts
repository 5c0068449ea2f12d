/** Whole milliseconds up to this; anything later lands in the last bucket. */
const MAX_MS = 60_000;

/**
 * Latencies in 1 ms buckets: constant memory however many deliveries, and client processes'
 * histograms add up exactly. Sent between processes as [ms, count] pairs.
 */
export class LatencyHistogram {
  private readonly counts = new Uint32Array(MAX_MS + 1);
  private total = 0;

  add(ms: number): void {
    this.counts[Math.min(MAX_MS, Math.max(0, Math.round(ms)))]++;
    this.total++;
  }

  get count(): number {
    return this.total;
  }

  /** The non-empty buckets. */
  toPairs(): [number, number][] {
    const pairs: [number, number][] = [];
    this.counts.forEach((count, ms) => count > 0 && pairs.push([ms, count]));
    return pairs;
  }

  addPairs(pairs: readonly [number, number][]): void {
    for (const [ms, count] of pairs) {
      this.counts[ms] += count;
      this.total += count;
    }
  }

  /** The smallest latency (ms) at or below which p % of the deliveries fall; NaN for none. */
  percentile(p: number): number {
    if (this.total === 0) {
      return Number.NaN;
    }
    const rank = Math.ceil((p / 100) * this.total);
    let seen = 0;
    for (let ms = 0; ms <= MAX_MS; ms++) {
      seen += this.counts[ms];
      if (seen >= Math.max(1, rank)) {
        return ms;
      }
    }
    return MAX_MS;
  }
}
