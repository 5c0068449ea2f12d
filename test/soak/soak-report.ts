import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  Check,
  FullGcSnapshot,
  fullGcGrowth,
  mb,
  memoryGrowth,
  soakChecks,
  SoakSample,
} from './soak-checks';
import type { SoakOptions } from './soak-options';

// Compiled to dist/test/soak: the repository is three folders up.
const CHART_SCRIPT = resolve(__dirname, '..', '..', '..', 'test', 'soak', 'render-soak-chart.mjs');
const CHART_TIMEOUT_MS = 60_000;

/** Everything a run found: written as .json, summed up as .md, drawn as .svg. */
export interface SoakResult {
  commit: string;
  startedAt: string;
  command: string;
  options: SoakOptions;
  warmUpSeconds: number;
  samples: SoakSample[];
  /** Full collections forced before the start sample, at the end of the warm-up and of the load. */
  fullGc: { start?: FullGcSnapshot; afterWarmUp?: FullGcSnapshot; end?: FullGcSnapshot };
  loadSeconds: number;
  settleSeconds: number;
  redis: string;
  load?: {
    done: Record<string, number | undefined>;
    skipped: Record<string, number | undefined>;
    perSecond: Record<string, number>;
    httpMs: { p50: number; p99: number; max: number };
    wsAckMs: { p50: number; p99: number; max: number };
    cache: { hits: number; misses: number };
    errors: Record<string, number>;
    firstErrors: string[];
    socketsLeftOpen: number;
  };
  error?: string;
  serverLogTails?: string[];
}

/** Writes the .md, .json and .svg; prints the summary; whether every check passed. */
export function writeSoakResult(result: SoakResult, directory: string, output: string): boolean {
  mkdirSync(directory, { recursive: true });
  const loadErrors = Object.values(result.load?.errors ?? {}).reduce((sum, n) => sum + n, 0);
  const checks = soakChecks(
    result.samples,
    result.options,
    result.load ? loadErrors : Number.NaN,
    result.fullGc,
  );
  const jsonPath = output.replace(/\.md$/, '') + '.json';
  const svgPath = output.replace(/\.md$/, '') + '.svg';
  writeFileSync(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
  const chart = spawnSync(process.execPath, [CHART_SCRIPT, jsonPath, svgPath], {
    encoding: 'utf8',
    timeout: CHART_TIMEOUT_MS,
  });
  const chartNote =
    chart.status === 0 ? `chart: ${svgPath}` : `chart failed: ${chart.stderr || chart.error}`;
  const report = `${markdownReport(result, checks)}\n${chartNote}\n`;
  writeFileSync(output, report);
  process.stdout.write(`\n${report}\n`);
  return checks.every((check) => check.passed) && !result.error && chart.status === 0;
}

export function markdownReport(result: SoakResult, checks: readonly Check[]): string {
  const { options } = result;
  const start = result.samples.find((sample) => sample.phase === 'start');
  const settled = result.samples.findLast((sample) => sample.phase === 'settled');
  const loaded = result.samples.filter(
    (sample) => sample.phase === 'load' || sample.phase === 'warm-up',
  );
  const growth = memoryGrowth(result.samples, options.sampleSeconds);
  const lines: string[] = [
    `# Soak: ${(result.loadSeconds / 60).toFixed(1)} min of mixed load on two instances`,
    '',
    `Commit ${result.commit}, started ${result.startedAt}; \`${result.command}\`. PostgreSQL (a database of the run's own), Redis: ${result.redis}. One sample every ${options.sampleSeconds} s (${result.samples.length} in all); warm-up ${result.warmUpSeconds.toFixed(0)} s, left out of the growth check.`,
    '',
    '## Checks',
    '',
    '| check | result | detail |',
    '| --- | --- | --- |',
    ...checks.map(
      (check) => `| ${check.name} | ${check.passed ? 'pass' : '**FAIL**'} | ${check.detail} |`,
    ),
    '',
    "Growth is judged between two full garbage collections forced through each instance's inspector (`HeapProfiler.collectGarbage`, as the WebSocket bench measures retained heap): one at the end of the warm-up and one at the end of the load, both under load; heap used and RSS are read right after each, so garbage waiting for the collector (the sawtooth) counts in neither. The lower envelope of the 10 s samples (smallest sample of the first and of the last fifth after the warm-up, each at least a minute) and their least-squares slope are shown beside it, not judged.",
    '',
    '## Memory after the warm-up',
    '',
    '| instance | heap after full GC: warm-up end → load end (MB) | growth | RSS after full GC (MB) | growth | sampled lower envelope, heap / RSS |',
    '| --- | --- | --- | --- | --- | --- |',
    ...[0, 1].flatMap((instance) => {
      if (!result.fullGc.afterWarmUp || !result.fullGc.end) {
        return [];
      }
      const full = fullGcGrowth(result.fullGc.afterWarmUp, result.fullGc.end);
      const heap = full.find((one) => one.instance === instance && one.metric === 'heap');
      const rss = full.find((one) => one.instance === instance && one.metric === 'rss');
      const heapEnvelope = growth.find((one) => one.instance === instance && one.metric === 'heap');
      const rssEnvelope = growth.find((one) => one.instance === instance && one.metric === 'rss');
      return heap && rss
        ? [
            `| ${instance} | ${mb(heap.startBytes)} → ${mb(heap.endBytes)} | ${heap.percent.toFixed(2)} % | ${mb(rss.startBytes)} → ${mb(rss.endBytes)} | ${rss.percent.toFixed(2)} % | ${heapEnvelope ? `${mb(heapEnvelope.startBytes)} → ${mb(heapEnvelope.endBytes)} (${heapEnvelope.percent.toFixed(1)} %)` : '—'} / ${rssEnvelope ? `${mb(rssEnvelope.startBytes)} → ${mb(rssEnvelope.endBytes)} (${rssEnvelope.percent.toFixed(1)} %)` : '—'} |`,
          ]
        : [];
    }),
    '',
    `Before the load (after start-up, full GC): ${(result.fullGc.start?.instances ?? []).map((one, instance) => `instance ${instance} heap ${mb(one.heapUsedBytes)} MB, RSS ${mb(one.rssBytes)} MB`).join('; ')}.`,
    '',
    '## Per connection: the start (before any load) and after the load, settled',
    '',
    '| instance | open fds | registries at the start | registries settled |',
    '| --- | --- | --- | --- |',
    ...(start && settled
      ? start.instances.map(
          (before, instance) =>
            `| ${instance} | ${before.openFds} → ${settled.instances[instance].openFds} | ${registryList(before.registries)} | ${registryList(settled.instances[instance].registries)} |`,
        )
      : []),
    '',
    `Settled ${result.settleSeconds.toFixed(0)} s after the load stopped (at most 60 s are waited).`,
    '',
    '## Load',
    '',
  ];
  if (result.load) {
    const { load } = result;
    lines.push(
      '| operation | done | per second (asked) | skipped (its connections all busy) |',
      '| --- | --- | --- | --- |',
      ...Object.entries(options.rates).map(
        ([kind, rate]) =>
          `| ${kind} | ${load.done[kind] ?? 0} | ${(load.perSecond[kind] ?? 0).toFixed(1)} (${rate}) | ${load.skipped[kind] ?? 0} |`,
      ),
      '',
      `HTTP answers p50 ${load.httpMs.p50} ms, p99 ${load.httpMs.p99} ms, max ${load.httpMs.max} ms; WebSocket acks (send, join, leave) p50 ${load.wsAckMs.p50} ms, p99 ${load.wsAckMs.p99} ms, max ${load.wsAckMs.max} ms (whole run). Cached reads: ${load.cache.hits} hits, ${load.cache.misses} misses.`,
      `Per-window p99 (10 s windows, over the run): HTTP median ${median(loaded.map((sample) => sample.httpP99Ms))} ms, worst ${worst(loaded.map((sample) => sample.httpP99Ms))} ms; WS median ${median(loaded.map((sample) => sample.wsAckP99Ms))} ms, worst ${worst(loaded.map((sample) => sample.wsAckP99Ms))} ms. Event-loop delay p99 per window, worst: ${[0, 1].map((instance) => `instance ${instance} ${worst(loaded.map((sample) => sample.instances[instance]?.eventLoopP99Ms ?? Number.NaN)).toFixed(1)} ms`).join(', ')}.`,
      '',
      `Errors seen by the load: ${
        Object.keys(load.errors).length === 0
          ? 'none'
          : Object.entries(load.errors)
              .map(([what, count]) => `${what}: ${count}`)
              .join('; ')
      }${load.firstErrors.length > 0 ? ` (first: ${load.firstErrors.join(' | ')})` : ''}. Connections left open by the load: ${load.socketsLeftOpen}.`,
    );
  } else {
    lines.push('The load did not finish.');
  }
  const redis = result.samples.map((sample) => sample.redisUsedMemoryBytes);
  const afterWarmUp = result.samples.filter((sample) => sample.phase === 'load');
  lines.push(
    '',
    `Redis used_memory: ${mb(redis[0] ?? Number.NaN)} MB at the start, ${mb(afterWarmUp[0]?.redisUsedMemoryBytes ?? Number.NaN)} MB after the warm-up, ${mb(afterWarmUp.at(-1)?.redisUsedMemoryBytes ?? Number.NaN)} MB at the end of the load, ${mb(Math.max(...redis))} MB at most.`,
  );
  if (result.error) {
    lines.push('', '## Error', '', '```text', result.error, '```');
  }
  return `${lines.join('\n')}\n`;
}

function registryList(registries: Record<string, number>): string {
  return Object.entries(registries)
    .map(([name, size]) => `${name} ${size}`)
    .join(', ');
}

function median(values: number[]): number {
  const sorted = values.filter((value) => !Number.isNaN(value)).sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function worst(values: number[]): number {
  return Math.max(...values.filter((value) => !Number.isNaN(value)));
}
