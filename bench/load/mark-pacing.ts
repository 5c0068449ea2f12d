/** How often each reader marks, and for how long: the marking load of one round. */
export interface MarkPacing {
  readers: number;
  /** Each reader marks once per interval. */
  intervalMs: number;
  seconds: number;
}

/**
 * How many marks are due `elapsedMs` into the round, all readers together: one every
 * intervalMs / readers, so the marks are spread evenly over each interval instead of coming 100
 * at once. Sent round-robin (mark n is reader n % readers), each reader marks once per interval.
 * Never more than the round's total, so the load is bounded in count as well as time.
 */
export function marksDue(pacing: MarkPacing, elapsedMs: number): number {
  const total = marksInRound(pacing);
  const due = Math.floor((Math.max(0, elapsedMs) * pacing.readers) / pacing.intervalMs) + 1;
  return Math.min(total, due);
}

/** Every reader's marks in a round of `seconds`. */
export function marksInRound(pacing: MarkPacing): number {
  return pacing.readers * Math.floor((pacing.seconds * 1000) / pacing.intervalMs);
}

/**
 * The most database writes the server may make for marks sent from the first to the last over
 * `spanSeconds`, when it writes at most once per member and room per `serverIntervalMs`: each
 * reader's writes start at least one interval apart while it marks (floor(span / interval) + 1
 * of them, the first at its first mark), and one more writes the marks merged behind the last of
 * those, one interval later.
 */
export function writeBound(readers: number, spanSeconds: number, serverIntervalMs: number): number {
  return readers * (Math.floor((spanSeconds * 1000) / serverIntervalMs) + 2);
}
