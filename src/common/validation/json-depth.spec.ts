import { exceedsJsonDepth } from './json-depth';

const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe(exceedsJsonDepth.name, () => {
  it.each([
    ['flat values', '"a"', 0, false],
    ['an object at the limit', '{"a":{"b":1}}', 2, false],
    ['an object past the limit', '{"a":{"b":1}}', 1, true],
    ['arrays past the limit', nested(33), 32, true],
    ['arrays at the limit', nested(32), 32, false],
    ['brackets inside strings', '{"a":"[[[[{{{{"}', 1, false],
    ['escaped quotes inside strings', '{"a":"\\"[[[["}', 1, false],
    ['an escaped backslash before the closing quote', '{"a":"\\\\","b":[[1]]}', 2, true],
  ])('%s', (_case, text, maxDepth, expected) => {
    expect(exceedsJsonDepth(text, maxDepth)).toBe(expected);
  });

  it('scans a 1 MiB body nested 500 000 deep in milliseconds', () => {
    const body = `{"username":"a","password":${nested(500_000)}}`;
    const started = process.hrtime.bigint();

    expect(exceedsJsonDepth(body, 32)).toBe(true);
    expect(exceedsJsonDepth(`"${'x'.repeat(1_048_000)}"`, 32)).toBe(false);

    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(100);
  });
});
