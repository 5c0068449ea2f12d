import { parseBenchOptions } from './bench-options';

describe('parseBenchOptions', () => {
  it('runs every scenario three rounds by default', () => {
    const options = parseBenchOptions([]);
    expect(options.settings).toMatchObject({ rounds: 3, quick: false, profile: false });
    expect(options.only).toEqual([]);
  });

  it('reads --quick, --profile and --only', () => {
    const options = parseBenchOptions(['--quick', '--only', 'health,cached-read', '--profile']);
    expect(options.settings).toMatchObject({ rounds: 1, measureSeconds: 5, profile: true });
    expect(options.only).toEqual(['health', 'cached-read']);
  });

  it('refuses an unknown option and a bare --only', () => {
    expect(() => parseBenchOptions(['--fast'])).toThrow(/unknown/);
    expect(() => parseBenchOptions(['--only'])).toThrow(/incomplete/);
  });
});
