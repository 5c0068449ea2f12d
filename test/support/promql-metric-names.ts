/** PromQL words that look like metric names but are not: keywords, operators, modifiers. */
const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'inf',
  'nan',
]);

/** Prometheus's own series, not an application's. */
const PROMETHEUS_SERIES = new Set(['up']);

const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'];

/**
 * The metric names a PromQL expression queries: what is left once strings, label matchers,
 * ranges and grouping clauses are taken out, less functions and aggregations (a name followed
 * by `(`), keywords, numbers and Prometheus's own `up`. Enough for the expressions we ship; not
 * a PromQL parser.
 */
export function metricNamesIn(expression: string): string[] {
  const stripped = expression
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const [, name, call] = match;
    if (!call && !KEYWORDS.has(name.toLowerCase()) && !PROMETHEUS_SERIES.has(name)) {
      names.add(name);
    }
  }
  return [...names];
}

/**
 * Whether `/metrics` text has samples of `name` as a query sees it: samples of that name, of a
 * metric declared by that name or of a histogram whose `_bucket`, `_sum` or `_count` series it is.
 */
export function exposes(
  metricsText: string,
  sampleNames: ReadonlySet<string>,
  name: string,
): boolean {
  if (!sampleNames.has(name)) {
    return false;
  }
  if (metricsText.includes(`# TYPE ${name} `)) {
    return true;
  }
  const suffix = HISTOGRAM_SUFFIXES.find((candidate) => name.endsWith(candidate));
  return (
    suffix !== undefined &&
    metricsText.includes(`# TYPE ${name.slice(0, -suffix.length)} histogram\n`)
  );
}
