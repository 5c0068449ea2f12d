import { logFormatFor } from './log-format';

describe(logFormatFor.name, () => {
  it('writes readable lines to a terminal outside production', () => {
    expect(logFormatFor('development', true)).toBe('pretty');
    expect(logFormatFor('test', true)).toBe('pretty');
  });

  it('writes JSON to a pipe or a file', () => {
    expect(logFormatFor('development', false)).toBe('json');
  });

  it('writes JSON in production, even to a terminal', () => {
    expect(logFormatFor('production', true)).toBe('json');
  });
});
