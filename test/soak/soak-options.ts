/** What one run of the soak does. */
export interface SoakOptions {
  /** How long the load runs (fractions allowed for a quick try). */
  minutes: number;
  /** The instances are sampled this often. */
  sampleSeconds: number;
  /** The load over both instances, per second (half to each). */
  rates: LoadRates;
  users: number;
  rooms: number;
  /** Leave unset: a redis-server of the run's own, whose memory is the run's alone. */
  redisUrl?: string;
  /** Open fds an instance may hold above its start-up count once the load is gone (pools). */
  fdTolerance: number;
  /** Pass: heap and RSS grow less than this after the warm-up, percent. */
  maxGrowthPercent: number;
  /** Where the summary is written (markdown; the samples as .json and the chart as .svg beside it). */
  output: string;
}

/** Operations a second over both instances. */
export interface LoadRates {
  /** GET of cached routes (a room's members, a user): mostly hits. */
  cachedReads: number;
  /** GET of routes that are never cached (the caller, the room list). */
  uncachedReads: number;
  restPosts: number;
  wsPosts: number;
  /** A join or a leave of a room on a long-lived connection (they alternate). */
  joinsLeaves: number;
  /** Connections opened (each joins a room, lives 1–4 s, then closes or drops). */
  reconnects: number;
}

export const DEFAULT_RATES: LoadRates = {
  cachedReads: 40,
  uncachedReads: 20,
  restPosts: 6,
  wsPosts: 14,
  joinsLeaves: 8,
  reconnects: 6,
};

export const DEFAULT_SOAK_OPTIONS: Omit<SoakOptions, 'output'> = {
  minutes: 30,
  sampleSeconds: 10,
  rates: DEFAULT_RATES,
  users: 200,
  rooms: 20,
  fdTolerance: 10,
  maxGrowthPercent: 5,
};

export const SOAK_USAGE = `npm run soak [-- options]
  --minutes N        how long the load runs; fractions allowed (30)
  --sample-seconds N one sample of every instance this often (10)
  --rate-scale N     multiplies every load rate (1): ${Object.entries(DEFAULT_RATES)
    .map(([name, rate]) => `${name} ${rate}/s`)
    .join(', ')}
  --users N          users (200); --rooms N rooms (20), every user a member of each
  --redis-url URL    an existing Redis (own key prefix; its used_memory is then everyone's)
  --fd-tolerance N   open fds above the start-up count allowed after the load (10: the pool)
  --output PATH      summary (test/soak/results/latest.md; .json and .svg beside it)
Quick try: --minutes 1`;

const FLAGS = [
  '--minutes',
  '--sample-seconds',
  '--rate-scale',
  '--users',
  '--rooms',
  '--redis-url',
  '--fd-tolerance',
  '--output',
] as const;
type Flag = (typeof FLAGS)[number];

/** `--name value` pairs over the defaults; throws on an unknown flag or a bad number. */
export function parseSoakOptions(args: readonly string[], defaultOutput: string): SoakOptions {
  const given: Partial<Record<Flag, string>> = {};
  for (let index = 0; index < args.length; index += 2) {
    const flag = args[index] as Flag;
    const value = args[index + 1];
    if (!FLAGS.includes(flag) || value === undefined) {
      throw new Error(`unknown or incomplete option ${args[index]}\n${SOAK_USAGE}`);
    }
    given[flag] = value;
  }
  const number = (flag: Flag, fallback: number, whole = false): number => {
    const text = given[flag];
    if (text === undefined) {
      return fallback;
    }
    const value = Number(text);
    if (!(value > 0) || !Number.isFinite(value) || (whole && !Number.isInteger(value))) {
      throw new Error(`${flag} must be a positive ${whole ? 'whole ' : ''}number, not "${text}"`);
    }
    return value;
  };
  const scale = number('--rate-scale', 1);
  const fdText = given['--fd-tolerance'];
  return {
    minutes: number('--minutes', DEFAULT_SOAK_OPTIONS.minutes),
    sampleSeconds: number('--sample-seconds', DEFAULT_SOAK_OPTIONS.sampleSeconds),
    rates: Object.fromEntries(
      Object.entries(DEFAULT_RATES).map(([name, rate]) => [name, rate * scale]),
    ) as unknown as LoadRates,
    users: number('--users', DEFAULT_SOAK_OPTIONS.users, true),
    rooms: number('--rooms', DEFAULT_SOAK_OPTIONS.rooms, true),
    redisUrl: given['--redis-url'],
    fdTolerance:
      fdText === '0' ? 0 : number('--fd-tolerance', DEFAULT_SOAK_OPTIONS.fdTolerance, true),
    maxGrowthPercent: DEFAULT_SOAK_OPTIONS.maxGrowthPercent,
    output: given['--output'] ?? defaultOutput,
  };
}

/**
 * The warm-up is a sixth of the run (5 of 30 minutes), at least a minute: JIT, pools, caches and
 * the allocator's arenas fill up in it, and the heap's first major collection falls in it (about a
 * minute in at this load), so it is left out of the growth check.
 */
export function warmUpSeconds(options: Pick<SoakOptions, 'minutes' | 'sampleSeconds'>): number {
  return Math.min(options.minutes * 30, Math.max((options.minutes * 60) / 6, 60));
}
