import {
  FullGcSnapshot,
  leftBehind,
  memoryGrowth,
  slope,
  soakChecks,
  SoakSample,
} from './soak-checks';

const MB = 1024 * 1024;

/** A run of `count` load samples (10 s apart) whose heap is `heapMb(index)` on both instances. */
function run(count: number, heapMb: (index: number) => number): SoakSample[] {
  const sample = (index: number, phase: SoakSample['phase']): SoakSample => ({
    at: index * 10,
    phase,
    instances: [0, 1].map(() => ({
      heapUsedBytes: heapMb(index) * MB,
      rssBytes: 150 * MB,
      openFds: 40,
      eventLoopP99Ms: 12,
      registries: { connections: 0 },
    })),
    httpP99Ms: 20,
    wsAckP99Ms: 30,
    opsPerSecond: 90,
    errors: 0,
    redisUsedMemoryBytes: MB,
  });
  return [
    sample(0, 'start'),
    ...Array.from({ length: count }, (_, index) => sample(index + 1, 'load')),
    sample(count + 1, 'settled'),
  ];
}

/** Both instances after a forced full collection. */
const fullGc = (heapMb: number, rssMb = 150): FullGcSnapshot => ({
  at: 0,
  instances: [0, 1].map(() => ({ heapUsedBytes: heapMb * MB, rssBytes: rssMb * MB })),
});
const OPTIONS = { maxGrowthPercent: 5, fdTolerance: 10 };

describe('soak checks', () => {
  it('does not read a GC sawtooth as growth: the lower envelope stays where it was', () => {
    // 60 → 75 MB and back, every 4 samples: the last sample may be a peak, the floor does not move.
    const sawtooth = run(30, (index) => 60 + (index % 4) * 5);
    const [heap] = memoryGrowth(sawtooth);
    expect(heap.startBytes).toBe(60 * MB);
    expect(heap.endBytes).toBe(60 * MB);
    expect(heap.percent).toBe(0);
    expect(soakChecks(sawtooth, OPTIONS, 0, { afterWarmUp: fullGc(55), end: fullGc(57) })).toEqual(
      expect.not.arrayContaining([expect.objectContaining({ passed: false })]),
    );
  });

  it('fails a floor that rises (a leak under the same sawtooth)', () => {
    const leaking = run(30, (index) => 60 + index * 0.5 + (index % 4) * 5);
    const [heap] = memoryGrowth(leaking);
    expect(heap.percent).toBeGreaterThan(5);
  });

  it('judges growth between the full collections: fails 5 % or more of heap or RSS', () => {
    const samples = run(30, () => 60);
    const failedNames = (afterWarmUp: FullGcSnapshot, end: FullGcSnapshot) =>
      soakChecks(samples, OPTIONS, 0, { afterWarmUp, end })
        .filter((check) => !check.passed)
        .map((check) => check.name);
    expect(failedNames(fullGc(60), fullGc(62.9))).toEqual([]);
    expect(failedNames(fullGc(60), fullGc(63))).toEqual([
      'instance 0 heap growth after the warm-up',
      'instance 1 heap growth after the warm-up',
    ]);
    expect(failedNames(fullGc(60, 150), fullGc(60, 160))).toEqual([
      'instance 0 rss growth after the warm-up',
      'instance 1 rss growth after the warm-up',
    ]);
    expect(failedNames(fullGc(60), undefined as unknown as FullGcSnapshot)).toEqual([
      'heap and RSS after the warm-up',
    ]);
  });

  it('finds what connections left behind: fds past the tolerance, any registry entry', () => {
    const start = {
      heapUsedBytes: 0,
      rssBytes: 0,
      openFds: 40,
      eventLoopP99Ms: 0,
      registries: { connections: 0, timers: 0 },
    };
    expect(leftBehind(start, { ...start, openFds: 50 }, 10).clean).toBe(true);
    expect(leftBehind(start, { ...start, openFds: 51 }, 10)).toMatchObject({
      fds: 11,
      clean: false,
    });
    expect(
      leftBehind(start, { ...start, registries: { connections: 0, timers: 1 } }, 10),
    ).toMatchObject({ registries: { connections: 0, timers: 1 }, clean: false });
    // A rate-limit window per client address is not per connection: one per address may linger.
    const windows = { ...start.registries, ws_connect_limit_windows: 1 };
    expect(leftBehind(start, { ...start, registries: windows }, 10).clean).toBe(true);
    expect(
      leftBehind(start, { ...start, registries: { ...windows, ws_connect_limit_windows: 2 } }, 10)
        .clean,
    ).toBe(false);
    // A registry that appeared after the start counts from zero.
    expect(
      leftBehind(start, { ...start, registries: { ...start.registries, typing: 2 } }, 10),
    ).toMatchObject({ registries: { typing: 2 }, clean: false });
  });

  it('counts errors of the load as a failure', () => {
    const checks = soakChecks(
      run(30, () => 60),
      OPTIONS,
      3,
      {
        afterWarmUp: fullGc(60),
        end: fullGc(60),
      },
    );
    expect(checks.find((check) => check.name === 'no errors seen by the load')?.passed).toBe(false);
  });

  it('fits a least-squares slope', () => {
    expect(
      slope([
        [0, 1],
        [1, 3],
        [2, 5],
      ]),
    ).toBeCloseTo(2);
    expect(slope([[0, 1]])).toBe(0);
  });
});
