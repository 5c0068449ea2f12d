import { GroupCommit, Settled } from './group-commit';

describe(GroupCommit.name, () => {
  /** A commit that records its batches and answers each item with its double, or fails 'bad'. */
  const recording = () => {
    const batches: string[][] = [];
    let release: (() => void) | undefined;
    const commit = async (items: string[]): Promise<Settled<string>[]> => {
      batches.push(items);
      if (items.includes('hold')) {
        await new Promise<void>((resolve) => (release = resolve));
      }
      return items.map((item) =>
        item === 'bad' ? { ok: false, error: new Error(item) } : { ok: true, value: item + item },
      );
    };
    return { batches, commit, release: () => release?.() };
  };

  it('puts what arrives in one turn into one batch and answers each caller with its own result', async () => {
    const { batches, commit } = recording();
    const group = new GroupCommit(commit, { maxBatch: 10, maxInFlight: 1 });

    const results = await Promise.allSettled(['a', 'bad', 'c'].map((item) => group.submit(item)));

    expect(batches).toEqual([['a', 'bad', 'c']]);
    expect(results).toEqual([
      { status: 'fulfilled', value: 'aa' },
      { status: 'rejected', reason: new Error('bad') },
      { status: 'fulfilled', value: 'cc' },
    ]);
  });

  it('queues what arrives during a commit for the next batch, up to maxBatch each', async () => {
    const { batches, commit, release } = recording();
    const group = new GroupCommit(commit, { maxBatch: 2, maxInFlight: 1 });

    const first = group.submit('hold');
    await new Promise((resolve) => setImmediate(resolve));
    const later = ['b', 'c', 'd'].map((item) => group.submit(item));
    await new Promise((resolve) => setImmediate(resolve));
    // Positive control: nothing of the later ones was committed while the first batch ran.
    expect(batches).toEqual([['hold']]);
    release();

    expect(await Promise.all([first, ...later])).toEqual(['holdhold', 'bb', 'cc', 'dd']);
    expect(batches).toEqual([['hold'], ['b', 'c'], ['d']]);
  });

  it('fails every caller of a batch whose commit throws, and goes on with the next', async () => {
    let calls = 0;
    const group = new GroupCommit<string, string>(
      (items) => {
        calls += 1;
        return calls === 1
          ? Promise.reject(new Error('disk full'))
          : Promise.resolve(items.map((item) => ({ ok: true, value: item })));
      },
      { maxBatch: 10, maxInFlight: 1 },
    );

    const failed = await Promise.allSettled([group.submit('a'), group.submit('b')]);
    expect(failed.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    expect(await group.submit('c')).toBe('c');
  });
});

describe(`${GroupCommit.name} observer`, () => {
  it('is told of every commit, with its items and its duration, also when the commit throws', async () => {
    const observed: [number, number][] = [];
    let fail = false;
    const group = new GroupCommit(
      async (items: string[]): Promise<Settled<string>[]> => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (fail) {
          throw new Error('commit failed');
        }
        return items.map((item) => ({ ok: true, value: item }));
      },
      {
        maxBatch: 10,
        maxInFlight: 1,
        observer: (items, seconds) => observed.push([items, seconds]),
      },
    );

    await Promise.all(['a', 'b', 'c'].map((item) => group.submit(item)));
    fail = true;
    await expect(group.submit('d')).rejects.toThrow('commit failed');

    expect(observed.map(([items]) => items)).toEqual([3, 1]);
    for (const [, seconds] of observed) {
      expect(seconds).toBeGreaterThanOrEqual(0.004);
      expect(seconds).toBeLessThan(5);
    }
  });
});
