import { Spread, median, spreadOf } from '@bench/support/statistics';
import { CpuReading } from '@bench/support/cpu-meter';
import { Target } from './targets';

/** One round's reading of one side (Switchboard or its baseline). */
export interface Sample {
  value: number;
  cpu: CpuReading;
  /** Non-2xx answers, socket errors, missing deliveries: a figure with any is flagged. */
  errors: number;
  /** Secondary readings kept in latest.json (latency percentiles, CPU per operation…). */
  details?: Record<string, number>;
}

/** All rounds of one side, summarised. */
export interface Series extends Spread {
  title: string;
  rounds: number[];
  serverCpuPercent: number;
  loadCorePercent: number | null;
  serverCorePercent: number | null;
  errors: number;
  details: Record<string, number>;
}

export interface Figure {
  scenario: string;
  id: string;
  title: string;
  unit: string;
  better: 'higher' | 'lower';
  switchboard: Series;
  baseline: Series | null;
  /** switchboard.median / baseline.median. */
  ratio: number | null;
  target: Target | null;
  /** null when there is no target, or no ratio to judge. */
  met: boolean | null;
  notes: string[];
}

export interface FigureDefinition {
  scenario: string;
  id: string;
  title: string;
  unit: string;
  better: 'higher' | 'lower';
  switchboard: { title: string; samples: Sample[] };
  baseline?: { title: string; samples: Sample[] };
  target?: Target;
  notes?: string[];
}

export function seriesOf(title: string, samples: readonly Sample[]): Series {
  const detailNames = [...new Set(samples.flatMap((sample) => Object.keys(sample.details ?? {})))];
  return {
    title,
    rounds: samples.map((sample) => sample.value),
    ...spreadOf(samples.map((sample) => sample.value)),
    serverCpuPercent: median(samples.map((sample) => sample.cpu.serverCpuPercent)),
    loadCorePercent: medianOrNull(samples.map((sample) => sample.cpu.loadCorePercent)),
    serverCorePercent: medianOrNull(samples.map((sample) => sample.cpu.serverCorePercent)),
    errors: samples.reduce((total, sample) => total + sample.errors, 0),
    details: Object.fromEntries(
      detailNames.map((name) => [
        name,
        median(samples.flatMap((sample) => sample.details?.[name] ?? [])),
      ]),
    ),
  };
}

export function figureOf(definition: FigureDefinition): Figure {
  const switchboard = seriesOf(definition.switchboard.title, definition.switchboard.samples);
  const baseline = definition.baseline
    ? seriesOf(definition.baseline.title, definition.baseline.samples)
    : null;
  const ratio =
    baseline && baseline.median > 0 && Number.isFinite(switchboard.median)
      ? switchboard.median / baseline.median
      : null;
  const target = definition.target ?? null;
  return {
    scenario: definition.scenario,
    id: definition.id,
    title: definition.title,
    unit: definition.unit,
    better: definition.better,
    switchboard,
    baseline,
    ratio,
    target,
    met: target && ratio !== null ? meets(ratio, target) : null,
    notes: definition.notes ?? [],
  };
}

function medianOrNull(values: (number | null)[]): number | null {
  const known = values.filter((value): value is number => value !== null);
  return known.length ? median(known) : null;
}

/** The same rounds with a detail (e.g. latencyP50Ms) as the value, for a figure of its own. */
export function samplesOfDetail(samples: readonly Sample[], detail: string): Sample[] {
  return samples.map((sample) => ({ ...sample, value: sample.details?.[detail] ?? Number.NaN }));
}

/**
 * Both sides of a figure from interleaved rounds, as `figureOf` takes them; with `detail`, that
 * detail of each round (e.g. latencyP50Ms) is the value.
 */
export function bothSides(
  samples: Record<'switchboard' | 'baseline', Sample[]>,
  baselineTitle: string,
  detail?: string,
  switchboardTitle = 'Switchboard',
): Pick<FigureDefinition, 'switchboard' | 'baseline'> {
  const pick = (side: Sample[]) => (detail ? samplesOfDetail(side, detail) : side);
  return {
    switchboard: { title: switchboardTitle, samples: pick(samples.switchboard) },
    baseline: { title: baselineTitle, samples: pick(samples.baseline) },
  };
}

function meets(ratio: number, target: Target): boolean {
  return target.comparison === 'at-least' ? ratio >= target.ratio : ratio <= target.ratio;
}
