import { ReadMarkCoalescer } from './read-mark-coalescer';

describe(ReadMarkCoalescer.name, () => {
  let writes: { key: string; seq: number }[];
  let coalescer: ReadMarkCoalescer<number>;

  beforeEach(() => {
    jest.useFakeTimers();
    writes = [];
    coalescer = new ReadMarkCoalescer((key, seq) => {
      writes.push({ key, seq });
      return Promise.resolve(seq);
    }, 1000);
  });

  afterEach(() => jest.useRealTimers());

  it('writes the first mark at once and merges the rest of the second into one write of the highest', async () => {
    const first = coalescer.mark('a', 3);
    const later = [coalescer.mark('a', 7), coalescer.mark('a', 5)];
    await expect(first).resolves.toBe(3);
    expect(writes).toEqual([{ key: 'a', seq: 3 }]);

    await jest.advanceTimersByTimeAsync(1000);

    await expect(Promise.all(later)).resolves.toEqual([7, 7]);
    expect(writes).toEqual([
      { key: 'a', seq: 3 },
      { key: 'a', seq: 7 },
    ]);
  });

  it('keeps keys apart, and forgets a key one interval after its last write', async () => {
    await Promise.all([coalescer.mark('a', 1), coalescer.mark('b', 1)]);
    expect(coalescer.size).toBe(2);

    await jest.advanceTimersByTimeAsync(1000);
    expect(coalescer.size).toBe(0);
    // Positive control: a key that was forgotten is written at once again.
    await coalescer.mark('a', 2);
    expect(writes.map((write) => `${write.key}${write.seq}`)).toEqual(['a1', 'b1', 'a2']);
  });

  it('flush writes waiting marks without waiting for the interval', async () => {
    await coalescer.mark('a', 1);
    const waiting = coalescer.mark('a', 9);

    await coalescer.flush();

    await expect(waiting).resolves.toBe(9);
    expect(coalescer.size).toBe(0);
  });

  it('a failed write fails only the marks it covered; the next interval writes again', async () => {
    let failNext = true;
    const flaky = new ReadMarkCoalescer<number>((_key, seq) => {
      if (failNext) {
        failNext = false;
        return Promise.reject(new Error('database away'));
      }
      return Promise.resolve(seq);
    }, 1000);

    await expect(flaky.mark('a', 1)).rejects.toThrow('database away');
    const next = flaky.mark('a', 2);
    await jest.advanceTimersByTimeAsync(1000);
    await expect(next).resolves.toBe(2);
  });
});
