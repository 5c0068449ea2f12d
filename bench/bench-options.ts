import { BenchSettings } from './scenarios/scenario';

export interface BenchOptions {
  settings: BenchSettings;
  /** Scenario names to run; empty: all. */
  only: string[];
  list: boolean;
}

export const USAGE = `npm run bench [-- options]
  --quick            one round of 5 s per side (development)
  --only a,b         only these scenarios (see --list); results go to bench/results/partial.*
  --profile          start Switchboard with --cpu-prof; profiles land in bench/profiles/
  --list             list the scenarios and exit`;

/** Full run: 3 interleaved rounds of 6 s per side, plus a 2 s warm-up (ends in < 15 min). */
const FULL: Pick<BenchSettings, 'rounds' | 'measureSeconds' | 'warmupSeconds'> = {
  rounds: 3,
  measureSeconds: 6,
  warmupSeconds: 2,
};
const QUICK: typeof FULL = { rounds: 1, measureSeconds: 5, warmupSeconds: 1 };

export function parseBenchOptions(args: readonly string[]): BenchOptions {
  const quick = args.includes('--quick');
  const onlyIndex = args.indexOf('--only');
  const known = new Set(['--quick', '--profile', '--list', '--only']);
  const unknown = args.filter(
    (arg, index) => !known.has(arg) && !(onlyIndex >= 0 && index === onlyIndex + 1),
  );
  if (unknown.length > 0 || (onlyIndex >= 0 && !args[onlyIndex + 1])) {
    throw new Error(`unknown or incomplete option ${unknown.join(' ') || '--only'}\n${USAGE}`);
  }
  return {
    settings: { ...(quick ? QUICK : FULL), quick, profile: args.includes('--profile') },
    only: onlyIndex >= 0 ? args[onlyIndex + 1].split(',').filter(Boolean) : [],
    list: args.includes('--list'),
  };
}
