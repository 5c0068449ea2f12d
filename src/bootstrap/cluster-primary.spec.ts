import { loadConfig } from '@config';
import { clusterConfigProblem, nextRestartDelay, primaryExitCode } from './cluster-primary';

describe(nextRestartDelay.name, () => {
  it('restarts a worker that ran for a while at once', () => {
    expect(nextRestartDelay(8000, 60_000)).toBe(0);
  });

  it('backs off exponentially while workers keep dying young, up to 30 s', () => {
    const delays: number[] = [];
    let delay = 0;
    for (let i = 0; i < 10; i++) {
      delay = nextRestartDelay(delay, 100);
      delays.push(delay);
    }

    expect(delays.slice(0, 5)).toEqual([500, 1000, 2000, 4000, 8000]);
    expect(delays.at(-1)).toBe(30_000);
  });
});

describe(clusterConfigProblem.name, () => {
  const postgres = { DATABASE_URL: 'postgres://db/test' };

  it('needs REDIS_URL', () => {
    expect(clusterConfigProblem(loadConfig(postgres))).toMatch(/needs REDIS_URL/);
  });

  it('refuses SQLite', () => {
    expect(clusterConfigProblem(loadConfig({ REDIS_URL: 'redis://cache:6379' }))).toMatch(
      /needs DATABASE_URL=postgres/,
    );
  });

  it('accepts Redis with PostgreSQL', () => {
    expect(
      clusterConfigProblem(loadConfig({ ...postgres, REDIS_URL: 'redis://cache:6379' })),
    ).toBeUndefined();
  });
});

describe(primaryExitCode.name, () => {
  it('is 0 when every worker drained and exited 0', () => {
    expect(
      primaryExitCode([
        { code: 0, signal: null },
        { code: 0, signal: null },
      ]),
    ).toBe(0);
  });

  it('is 1 when a worker exited with an error or was killed', () => {
    expect(
      primaryExitCode([
        { code: 0, signal: null },
        { code: 1, signal: null },
      ]),
    ).toBe(1);
    expect(
      primaryExitCode([
        { code: null, signal: 'SIGKILL' },
        { code: 0, signal: null },
      ]),
    ).toBe(1);
  });
});
