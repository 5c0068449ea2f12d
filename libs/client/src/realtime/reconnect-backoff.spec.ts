import { reconnectDelay } from './reconnect-backoff';

describe(reconnectDelay.name, () => {
  const options = { initialDelayMs: 100, maxDelayMs: 1000 };

  it('draws below a ceiling that doubles each attempt, up to the maximum', () => {
    const ceilings = [1, 2, 3, 4, 5, 6, 20].map((attempt) =>
      reconnectDelay(attempt, options, () => 0.999999),
    );

    expect(ceilings).toEqual([99, 199, 399, 799, 999, 999, 999]);
  });

  it('spreads clients over the whole window (full jitter)', () => {
    expect(reconnectDelay(3, options, () => 0)).toBe(0);
    expect(reconnectDelay(3, options, () => 0.5)).toBe(200);
    const draws = Array.from({ length: 200 }, () => reconnectDelay(4, options));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThan(800);
    expect(new Set(draws).size).toBeGreaterThan(50);
  });

  it('starts at 250 ms and stops growing at 10 s by default', () => {
    expect(reconnectDelay(1, {}, () => 0.999999)).toBe(249);
    expect(reconnectDelay(50, {}, () => 0.999999)).toBe(9999);
  });
});
