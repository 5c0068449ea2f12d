import { BenchReport } from './bench-report';
import { Figure, Series } from './figure';
import { describeTarget } from './targets';

/** latest.md: the table the README shows, with date, commit and machine. */
export function renderMarkdown(report: BenchReport): string {
  const { machine, settings } = report;
  const lines = [
    '# Switchboard benchmark',
    '',
    `${settings.quick ? 'Quick run (`npm run bench -- --quick`): one round, **indicative only**' : 'Full run (`npm run bench`)'}: ` +
      `${settings.rounds} round(s) of ${settings.measureSeconds} s per side, interleaved with the baselines, after a ${settings.warmupSeconds} s warm-up.`,
    '',
    `- date: ${machine.date}`,
    `- commit: ${machine.commit}`,
    `- machine: ${machine.cpuModel}, ${machine.cores} cores, Linux ${machine.kernel}, Node ${machine.node}`,
    `- cores: ${machine.coreSplit}`,
    `- load generators: ${machine.loadGenerators}`,
    ...report.serverConditions.map((condition) => `- ${condition}`),
    '',
    '| scenario | Switchboard | baseline | ratio | target | met | server CPU, Switchboard / baseline | load core busy, Switchboard / baseline | errors |',
    '| --- | --: | --: | --: | --: | :-: | --: | --: | --: |',
    ...report.figures.map(renderRow),
    '',
    'Figures are medians of the rounds, [min–max] below them; ratio = Switchboard median / baseline median. ' +
      'Server CPU is the measured process (with its workers) from /proc/<pid>/stat; 100 % is one core saturated. ' +
      '"load core busy" is core 1 from /proc/stat during the run, whoever kept it busy (other work on the machine counts): near 100 % with the server well below it means the load generator, not the server, may be the limit; — where load and server share both cores (cluster). ' +
      'Errors are non-2xx answers, socket errors or missing deliveries over all rounds; a figure with errors is marked ⚠.',
  ];
  // A note shared by several figures (e.g. both fan-out sizes) is listed once, under the first.
  const notedBy = new Map<string, string>();
  report.figures.forEach((figure) =>
    figure.notes.forEach((note) => notedBy.has(note) || notedBy.set(note, figure.title)),
  );
  const notes = [...notedBy].map(([note, title]) => `- ${title}: ${note}`);
  if (notes.length > 0) {
    lines.push('', '## Notes', '', ...notes);
  }
  if (report.problems.length > 0) {
    lines.push(
      '',
      '## Not measured',
      '',
      ...report.problems.map(
        (problem) => `- ${problem.scenario}: ${problem.outcome}, ${problem.reason}`,
      ),
    );
  }
  lines.push('', `Run time: ${Math.round(report.durationSeconds)} s.`, '');
  return lines.join('\n');
}

function renderRow(figure: Figure): string {
  const errors = figure.switchboard.errors + (figure.baseline?.errors ?? 0);
  return [
    figure.title,
    renderSeries(figure.switchboard, figure.unit),
    figure.baseline
      ? `${renderSeries(figure.baseline, figure.unit)}<br>${figure.baseline.title}`
      : '—',
    figure.ratio === null ? '—' : `${formatNumber(figure.ratio, 3)} ×`,
    figure.target ? describeTarget(figure.target) : '—',
    figure.met === null ? '—' : figure.met ? 'met' : 'not met',
    pair(figure.switchboard.serverCpuPercent, figure.baseline?.serverCpuPercent),
    pair(figure.switchboard.loadCorePercent, figure.baseline?.loadCorePercent),
    errors > 0 ? `⚠ ${errors}` : '0',
  ]
    .join(' | ')
    .replace(/^/, '| ')
    .replace(/$/, ' |');
}

/** "95 % / 42 %": a reading of both sides; — where a side has none. */
function pair(switchboard: number | null, baseline: number | null | undefined): string {
  const percent = (value: number | null | undefined) =>
    value === null || value === undefined ? '—' : `${formatNumber(value, 0)} %`;
  return `${percent(switchboard)} / ${percent(baseline)}`;
}

function renderSeries(series: Series, unit: string): string {
  return `${formatNumber(series.median)} ${unit}<br>[${formatNumber(series.min)}–${formatNumber(series.max)}]`;
}

/** Thousands separated; three significant digits below 100. */
export function formatNumber(value: number, fractionDigits?: number): string {
  if (!Number.isFinite(value)) {
    return 'n/a';
  }
  const digits = fractionDigits ?? (Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2);
  return value.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}
