// Draws a soak's samples (the .json `npm run soak` writes) as small multiples in one SVG, with
// Vega-Lite rendered headless by Vega (no browser, no canvas). ESM: Vega 6 ships only as ESM.
// Usage: node test/soak/render-soak-chart.mjs <soak.json> <chart.svg>
import { readFileSync, writeFileSync } from 'node:fs';
import { parse, View } from 'vega';
import { compile } from 'vega-lite';

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  process.stderr.write('usage: render-soak-chart.mjs <soak.json> <chart.svg>\n');
  process.exit(2);
}
const result = JSON.parse(readFileSync(input, 'utf8'));
const MB = 1024 * 1024;

/** The panels, in reading order: title, and each series' value of a sample. */
const PANELS = [
  ['Heap used (MB)', (sample, instance) => sample.instances[instance].heapUsedBytes / MB],
  ['RSS (MB)', (sample, instance) => sample.instances[instance].rssBytes / MB],
  ['Open fds', (sample, instance) => sample.instances[instance].openFds],
  ['Event-loop delay p99 (ms)', (sample, instance) => sample.instances[instance].eventLoopP99Ms],
];
const rows = [];
for (const sample of result.samples) {
  const minutes = sample.at / 60;
  for (const [panel, value] of PANELS) {
    sample.instances.forEach((_, instance) =>
      rows.push({ panel, minutes, series: `instance ${instance}`, value: value(sample, instance) }),
    );
  }
  // The load's figures exist for the windows it ran in.
  if (sample.phase === 'warm-up' || sample.phase === 'load') {
    rows.push({ panel: 'Load p99 (ms)', minutes, series: 'HTTP', value: sample.httpP99Ms });
    rows.push({
      panel: 'Load p99 (ms)',
      minutes,
      series: 'WebSocket ack',
      value: sample.wsAckP99Ms,
    });
  }
  rows.push({
    panel: 'Redis used_memory (MB)',
    minutes,
    series: 'Redis',
    value: sample.redisUsedMemoryBytes / MB,
  });
}
const values = rows.filter((row) => Number.isFinite(row.value));
const panels = [...PANELS.map(([title]) => title), 'Load p99 (ms)', 'Redis used_memory (MB)'];
// One shaded band per panel: the warm-up, left out of the growth check.
const bands = panels.map((panel) => ({
  panel,
  band: true,
  from: 0,
  to: result.warmUpSeconds / 60,
}));
// The judged full collections: a dashed rule at each (end of the warm-up, end of the load).
const collections = [result.fullGc?.afterWarmUp, result.fullGc?.end]
  .filter(Boolean)
  .flatMap((snapshot) => panels.map((panel) => ({ panel, band: true, gc: snapshot.at / 60 })));

const spec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  title: {
    text: `Soak: two instances, ${(result.loadSeconds / 60).toFixed(0)} min of mixed load (commit ${result.commit})`,
    subtitle:
      'Shaded: warm-up (not judged). Dashed: the full GCs forced at its end and at the end of the load (the judged figures). Last points: after the load, every connection closed.',
  },
  data: { values: [...bands, ...collections, ...values] },
  facet: { field: 'panel', type: 'nominal', sort: panels, title: null },
  columns: 2,
  spec: {
    width: 360,
    height: 150,
    layer: [
      {
        transform: [{ filter: 'datum.band && !isValid(datum.gc)' }],
        mark: { type: 'rect', color: '#999', opacity: 0.15 },
        encoding: {
          x: { field: 'from', type: 'quantitative' },
          x2: { field: 'to' },
        },
      },
      {
        transform: [{ filter: 'isValid(datum.gc)' }],
        mark: { type: 'rule', color: '#666', strokeDash: [4, 3] },
        encoding: { x: { field: 'gc', type: 'quantitative' } },
      },
      {
        transform: [{ filter: '!datum.band' }],
        mark: { type: 'line', point: { size: 8 }, strokeWidth: 1.5 },
        encoding: {
          x: { field: 'minutes', type: 'quantitative', title: 'minutes since the load started' },
          y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
          color: { field: 'series', type: 'nominal', title: null },
        },
      },
    ],
  },
  resolve: { scale: { y: 'independent' } },
  config: { font: 'sans-serif', legend: { orient: 'bottom' } },
};

const view = new View(parse(compile(spec).spec), { renderer: 'none' });
writeFileSync(output, await view.toSVG());
view.finalize();
