import { drainThenClose, ShutdownSteps } from './shutdown-sequence';

/** Steps that write what they did, in order, into one list, as do the log lines and the delay. */
function recordingSteps(record: string[], left = { http: 0, sockets: 0 }): ShutdownSteps {
  return {
    beginDrain: () => record.push('readiness 503'),
    stopAccepting: () => record.push('stop accepting'),
    finishHttp: () => {
      record.push('finish HTTP');
      return Promise.resolve(left.http);
    },
    closeWebSockets: () => {
      record.push('close WebSockets');
      return Promise.resolve(left.sockets);
    },
    closeModules: () => {
      record.push('close Redis and database');
      return Promise.resolve();
    },
  };
}

describe(drainThenClose.name, () => {
  it('turns readiness 503, serves through the delay, then closes HTTP, WebSockets, modules', async () => {
    const record: string[] = [];

    await drainThenClose(
      recordingSteps(record),
      { drainDelayMs: 250, deadline: Date.now() + 10_000 },
      (line) => record.push(`log: ${line}`),
      (ms) => {
        record.push(`delay ${ms} ms`);
        return Promise.resolve();
      },
    );

    expect(record.filter((entry) => !entry.startsWith('log: '))).toEqual([
      'readiness 503',
      'delay 250 ms',
      'stop accepting',
      'finish HTTP',
      'close WebSockets',
      'close Redis and database',
    ]);
    expect(record.filter((entry) => entry.startsWith('log: '))).toEqual([
      'log: drain: readiness answers 503; serving for 250 ms more',
      'log: drain: stopped accepting connections',
      'log: drain: in-flight HTTP requests finished',
      'log: drain: WebSockets closed (1001)',
      'log: drain: Redis and the database closed',
    ]);
  });

  it('goes on to close everything when connections outlive their share of the deadline', async () => {
    const record: string[] = [];

    await drainThenClose(
      recordingSteps(record, { http: 2, sockets: 1 }),
      { drainDelayMs: 0, deadline: Date.now() + 10_000 },
      (line) => record.push(`log: ${line}`),
      () => Promise.resolve(),
    );

    expect(record).toContain('log: drain: 2 HTTP connections still open: going on');
    expect(record).toContain('log: drain: 1 WebSockets still closing: going on');
    expect(record.at(-2)).toBe('close Redis and database');
  });
});
