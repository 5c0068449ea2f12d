import { bothSides, figureOf, Sample } from './figure';
import { renderMarkdown } from './markdown-report';
import { BenchReport } from './bench-report';

const sample = (value: number, errors = 0): Sample => ({
  value,
  errors,
  cpu: {
    wallSeconds: 5,
    serverCpuSeconds: 4,
    serverCpuPercent: 80,
    loadCorePercent: 60,
    serverCorePercent: 90,
  },
});

describe('figureOf', () => {
  const samples = {
    switchboard: [sample(300), sample(100), sample(200, 2)],
    baseline: [sample(1000), sample(800), sample(900)],
  };

  /** The health figure of `samples`, against a target ratio. */
  const healthFigure = (targetRatio: number) =>
    figureOf({
      scenario: 'health',
      id: 'health',
      title: '`GET /health`',
      unit: 'req/s',
      better: 'higher',
      ...bothSides(samples, 'bare Fastify'),
      target: { comparison: 'at-least', ratio: targetRatio },
    });

  it('takes medians, the ratio to the baseline and judges the target', () => {
    const figure = healthFigure(0.2);
    expect(figure.switchboard).toMatchObject({ median: 200, min: 100, max: 300, errors: 2 });
    expect(figure.ratio).toBeCloseTo(200 / 900);
    expect(figure.met).toBe(true);
  });

  it('renders a row per figure, flagging errors', () => {
    const figure = healthFigure(0.5);
    const report: BenchReport = {
      machine: {
        date: '2026-12-01T00:00:00.000Z',
        commit: 'abc1234',
        cpuModel: 'test CPU',
        cores: 2,
        kernel: '6.0',
        node: 'v20',
        loadGenerators: 'wrk',
        coreSplit: 'server on 0, load on 1',
      },
      settings: { rounds: 3, measureSeconds: 8, warmupSeconds: 2, quick: false },
      serverConditions: [],
      figures: [figure],
      problems: [],
      durationSeconds: 1,
    };
    const markdown = renderMarkdown(report);
    expect(markdown).toContain('| `GET /health` | 200 req/s<br>[100–300] |');
    expect(markdown).toContain('| ≥ 0.5 × | not met |');
    expect(markdown).toContain('⚠ 2');
  });
});
