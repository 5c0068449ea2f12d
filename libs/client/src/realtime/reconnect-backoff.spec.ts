import {
  MAX_RETRY_AFTER_SECONDS,
  parseRetryAfter,
  reconnectDelay,
  retryAfterDelay,
} from './reconnect-backoff';

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

describe(retryAfterDelay.name, () => {
  it('waits the Retry-After, times 1 + a uniform draw: between 1 and 2 windows', () => {
    expect(retryAfterDelay(1, () => 0)).toBe(1000);
    expect(retryAfterDelay(1, () => 0.5)).toBe(1500);
    expect(retryAfterDelay(2, () => 0.999999)).toBe(3999);
  });

  it('spreads refused clients over the whole next window', () => {
    const draws = Array.from({ length: 200 }, () => retryAfterDelay(1));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...draws)).toBeLessThan(2000);
    expect(new Set(draws).size).toBeGreaterThan(50);
  });
});

describe(parseRetryAfter.name, () => {
  it('reads delay-seconds and HTTP dates, capped at a minute', () => {
    const now = Date.parse('2026-12-06T12:00:00Z');
    expect(parseRetryAfter('1')).toBe(1);
    expect(parseRetryAfter(['2'])).toBe(2);
    expect(parseRetryAfter('Sun, 06 Dec 2026 12:00:05 GMT', now)).toBe(5);
    expect(parseRetryAfter('Sun, 06 Dec 2026 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('86400')).toBe(MAX_RETRY_AFTER_SECONDS);
  });

  it('is undefined without a readable value', () => {
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter('')).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});
