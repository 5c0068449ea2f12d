import { Counter, Registry } from 'prom-client';
import { MetricReading } from './metric-reading';

describe(MetricReading.name, () => {
  it('keeps what it read while the counter counts on, so that two readings give a rate', async () => {
    const registry = new Registry();
    const stored = new Counter({
      name: 'stored_total',
      help: 'entries stored',
      labelNames: ['kind'],
      registers: [registry],
    });
    stored.inc({ kind: 'message' }, 2);

    const before = await MetricReading.of(registry);
    stored.inc({ kind: 'message' }, 5);
    const now = await MetricReading.of(registry);

    expect(before.total('stored_total')).toBe(2);
    expect(now.total('stored_total')).toBe(7);
  });
});
