/** One sample of a Prometheus text exposition: `name{label="value",…} 1.5`. */
export interface PrometheusSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$/i;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the text format strictly: a line that is neither a comment nor a sample throws.
 * Like Prometheus (Go's ParseFloat), NaN and Inf are read in any case. */
export function parsePrometheusText(text: string): PrometheusSample[] {
  return text
    .split('\n')
    .filter((line) => line.length > 0 && !line.startsWith('#'))
    .map((line) => {
      const match = SAMPLE.exec(line);
      if (!match) {
        throw new Error(`Not a Prometheus sample: ${line}`);
      }
      const labels = Object.fromEntries(
        [...(match[2] ?? '').matchAll(LABEL)].map((label) => [label[1], label[2]]),
      );
      return { name: match[1], labels, value: Number(match[3]) };
    });
}

/** The sum of the samples of one metric whose labels include `labels`. */
export function sumOf(
  samples: PrometheusSample[],
  name: string,
  labels: Record<string, string> = {},
): number {
  return samples
    .filter(
      (sample) =>
        sample.name === name &&
        Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
    )
    .reduce((sum, sample) => sum + sample.value, 0);
}
