import { Figure, Sample } from '@bench/report/figure';
import { ResourceScope } from '@bench/support/resource-scope';

/** How long and how often to measure: `--quick` or the full run. */
export interface BenchSettings {
  rounds: number;
  /** Length of one measurement (one side, one round) of a time-bound load. */
  measureSeconds: number;
  /** One unmeasured pass per side before the rounds, so both are JIT-warm. */
  warmupSeconds: number;
  quick: boolean;
  /** Start Switchboard with --cpu-prof into bench/profiles. */
  profile: boolean;
}

/** The services the PostgreSQL and cluster scenarios need; undefined when unreachable. */
export interface BenchServices {
  postgresAdminUrl?: string;
  redisUrl?: string;
}

export interface ScenarioContext {
  settings: BenchSettings;
  services: BenchServices;
  /** Closed by the runner when the scenario ends, however it ends. */
  scope: ResourceScope;
  log(line: string): void;
}

export interface Scenario {
  name: string;
  /** One line for `--list` and the README. */
  describe: string;
  needs?: readonly (keyof BenchServices)[];
  run(context: ScenarioContext): Promise<Figure[]>;
}

/** One side's measurement; `seconds` is how long a time-bound load runs. */
export type Measurement = (seconds: number) => Promise<Sample>;

/**
 * Measures each side once unmeasured (warm-up), then `rounds` times, round by round: every side
 * of round 1, then of round 2…, so that drift in the machine's load hits all sides alike.
 */
export async function interleavedRounds<Side extends string>(
  context: ScenarioContext,
  measurements: Record<Side, Measurement>,
): Promise<Record<Side, Sample[]>> {
  const sides = Object.keys(measurements) as Side[];
  const samples = Object.fromEntries(sides.map((side) => [side, [] as Sample[]])) as Record<
    Side,
    Sample[]
  >;
  for (const side of sides) {
    await measurements[side](context.settings.warmupSeconds);
  }
  for (let round = 1; round <= context.settings.rounds; round++) {
    for (const side of sides) {
      const sample = await measurements[side](context.settings.measureSeconds);
      samples[side].push(sample);
      context.log(
        `  round ${round} ${side}: ${sample.value.toFixed(1)} (server CPU ${sample.cpu.serverCpuPercent.toFixed(0)} %${sample.errors ? `, ${sample.errors} errors` : ''})`,
      );
    }
  }
  return samples;
}
