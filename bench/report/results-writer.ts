import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RESULTS_DIRECTORY } from '@bench/support/paths';
import { BenchReport } from './bench-report';
import { renderMarkdown } from './markdown-report';

/**
 * Writes `<name>.json` (every figure, its rounds, baseline, ratio, machine) and `<name>.md` into
 * bench/results: `latest` for a whole full run, `partial` for `--only`, `quick` for `--quick` (one
 * round: indicative only, so it never replaces the full run's figures). Returns the paths.
 */
export function writeResults(report: BenchReport, name: 'latest' | 'partial' | 'quick'): string[] {
  mkdirSync(RESULTS_DIRECTORY, { recursive: true });
  const json = join(RESULTS_DIRECTORY, `${name}.json`);
  const markdown = join(RESULTS_DIRECTORY, `${name}.md`);
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(markdown, renderMarkdown(report));
  return [json, markdown];
}
