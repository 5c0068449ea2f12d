/** A duration like `15m`, `30s`, `12h`, `7d`, or a bare number of seconds (the JWT convention). */
export const DURATION_PATTERN = /^(\d+)(ms|s|m|h|d)?$/;

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Milliseconds in a validated duration such as `15m`; a bare number counts seconds. */
export function durationToMs(duration: string): number {
  const match = DURATION_PATTERN.exec(duration);
  if (!match) {
    throw new Error(`Not a duration: ${duration}`);
  }
  const unit = (match[2] ?? 's') as keyof typeof UNIT_MS;
  return Number(match[1]) * UNIT_MS[unit];
}
