import { drainThenClose, ShutdownSteps } from './shutdown-sequence';

interface Left {
  http: number;
  /** WebSockets that did not answer the 1001 in their grace… */
  unanswered?: number;
  /** …and those still open after they were cut off. */
  sockets?: number;
}

/** Steps that write what they did, in order, into one list, as do the log lines and the delay. */
function recordingSteps(
  record: string[],
  left: Left = { http: 0 },
  deadlines: Record<string, number> = {},
): ShutdownSteps {
  return {
    beginDrain: () => record.push('readiness 503'),
    stopAccepting: () => record.push('stop accepting'),
    finishHttp: () => {
      record.push('finish HTTP');
      return Promise.resolve(left.http);
    },
    closeWebSockets: (deadline) => {
      record.push('close WebSockets');
      deadlines.close = deadline;
      return Promise.resolve(left.unanswered ?? 0);
    },
    terminateWebSockets: (deadline) => {
      record.push('cut off WebSockets');
      deadlines.terminate = deadline;
      return Promise.resolve(left.sockets ?? 0);
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
      recordingSteps(record, { http: 2, unanswered: 3, sockets: 1 }),
      { drainDelayMs: 0, deadline: Date.now() + 10_000 },
      (line) => record.push(`log: ${line}`),
      () => Promise.resolve(),
    );

    expect(record).toContain('log: drain: 2 HTTP connections still open: going on');
    expect(record).toContain('log: drain: 1 WebSockets still closing: going on');
    expect(record.at(-2)).toBe('close Redis and database');
  });

  it('cuts off WebSockets that do not answer the 1001, in time to close the modules', async () => {
    const record: string[] = [];
    const deadlines: Record<string, number> = {};
    const deadline = Date.now() + 3_000;

    await drainThenClose(
      recordingSteps(record, { http: 0, unanswered: 2 }, deadlines),
      { drainDelayMs: 0, deadline },
      (line) => record.push(`log: ${line}`),
      () => Promise.resolve(),
    );

    expect(record.filter((entry) => !entry.startsWith('log: ')).slice(-3)).toEqual([
      'close WebSockets',
      'cut off WebSockets',
      'close Redis and database',
    ]);
    expect(record).toContain('log: drain: WebSockets closed (1001), 2 cut off without an answer');
    // The grace is half of what the WebSockets may take; a second is left for the modules.
    expect(deadlines.terminate).toBeLessThanOrEqual(deadline - 1_000);
    expect(deadlines.close).toBeLessThan(deadlines.terminate);
    expect(deadlines.terminate - deadlines.close).toBeGreaterThanOrEqual(900);
  });

  it('gives a WebSocket at most 2 s to answer the 1001 when the deadline is far', async () => {
    const deadlines: Record<string, number> = {};
    const startedAt = Date.now();

    await drainThenClose(
      recordingSteps([], { http: 0, unanswered: 1 }, deadlines),
      { drainDelayMs: 0, deadline: startedAt + 60_000 },
      () => undefined,
      () => Promise.resolve(),
    );

    expect(deadlines.close - startedAt).toBeGreaterThanOrEqual(2_000);
    expect(deadlines.close - startedAt).toBeLessThan(2_100);
  });
});
