import fs from 'node:fs';
import { connect, Socket } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';
import request from 'supertest';
import { parsePrometheusText, PrometheusSample } from '@test/support/prometheus-text';
import { useTestApp } from '@test/support/test-app';

const SOCKETS = 500;
/** Default metrics whose collection lists every handle or descriptor of the process. */
const PER_HANDLE_METRICS = /^nodejs_active_(handles|requests|resources)/;

type ProcessInternals = Record<'_getActiveHandles' | '_getActiveRequests', () => unknown[]>;

/** Counts the calls that walk every open descriptor or handle of this process. */
function watchEnumerations() {
  const listings = jest.spyOn(fs, 'readdirSync');
  const internals = process as unknown as ProcessInternals;
  const walks = [
    jest.spyOn(internals, '_getActiveHandles'),
    jest.spyOn(internals, '_getActiveRequests'),
    jest.spyOn(process, 'getActiveResourcesInfo'),
  ];
  return {
    calls: () =>
      listings.mock.calls.filter(([path]) => String(path).startsWith('/proc/self/fd')).length +
      walks.reduce((sum, walk) => sum + walk.mock.calls.length, 0),
    reset: () => [listings, ...walks].forEach((spy) => spy.mockClear()),
    restore: () => [listings, ...walks].forEach((spy) => spy.mockRestore()),
  };
}

function valueOf(samples: PrometheusSample[], name: string): number | undefined {
  return samples.find((sample) => sample.name === name)?.value;
}

/**
 * A scrape costs the same at 10 sockets as at 30,000: it reads counters, it does not list the
 * process's descriptors or libuv handles (prom-client's defaults do both, 136–180 ms per scrape
 * at 15,000 sockets). The open-descriptor count stays, read without a listing.
 */
describe('metrics scrape cost (e2e)', () => {
  const testApp = useTestApp();

  const scrape = async () =>
    parsePrometheusText((await request(testApp.server).get('/metrics').expect(200)).text);

  it(`scrapes with ${SOCKETS} open sockets without walking them, and still counts descriptors`, async () => {
    const port = Number(new URL(testApp.url).port);
    const openBefore = valueOf(await scrape(), 'process_open_fds') ?? 0;
    const sockets: Socket[] = [];
    const enumerations = watchEnumerations();
    try {
      await Promise.all(
        Array.from(
          { length: SOCKETS },
          () =>
            new Promise<void>((resolve, reject) => {
              const socket = connect(port, '127.0.0.1', () => resolve()).once('error', reject);
              sockets.push(socket);
            }),
        ),
      );

      enumerations.reset();
      const samples = await scrape();
      expect(enumerations.calls()).toBe(0);
      expect(samples.filter((sample) => PER_HANDLE_METRICS.test(sample.name))).toEqual([]);
      // Both ends of each socket are descriptors of this process.
      expect(valueOf(samples, 'process_open_fds')).toBeGreaterThanOrEqual(openBefore + SOCKETS * 2);
      // The useful defaults stay.
      for (const name of [
        'process_resident_memory_bytes',
        'nodejs_heap_size_used_bytes',
        'nodejs_eventloop_lag_p99_seconds',
        'process_max_fds',
      ]) {
        expect(valueOf(samples, name)).toBeGreaterThan(0);
      }
      expect(samples.some((sample) => sample.name.startsWith('nodejs_gc_duration_seconds'))).toBe(
        true,
      );

      // Positive control: prom-client's defaults walk them, and the spies see it.
      const defaults = new Registry();
      collectDefaultMetrics({ register: defaults });
      await defaults.metrics();
      expect(enumerations.calls()).toBeGreaterThan(0);
    } finally {
      enumerations.restore();
      // Closed before the app: its close waits for open connections.
      sockets.forEach((socket) => socket.destroy());
    }
  });
});
