import { readdirSync, statSync } from 'node:fs';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';

/**
 * prom-client defaults whose collection lists every libuv handle, request or descriptor of the
 * process: at 15,000 sockets a scrape took 136–180 ms of event loop. The socket count is in
 * `switchboard_ws_connections`; the descriptor count is read below without a listing.
 */
const PER_HANDLE_METRICS = [
  'process_open_fds',
  'nodejs_active_handles',
  'nodejs_active_handles_total',
  'nodejs_active_requests',
  'nodejs_active_requests_total',
  'nodejs_active_resources',
  'nodejs_active_resources_total',
];
const FD_DIRECTORY = '/proc/self/fd';
/** Where the kernel cannot count descriptors for us, a listing at most this often. */
const FD_LISTING_INTERVAL_MS = 60_000;

/**
 * Process metrics whose scrape costs the same at any number of sockets: CPU, memory, heap, GC,
 * event-loop delay, descriptor limit and count.
 */
export function registerProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of PER_HANDLE_METRICS) {
    registry.removeSingleMetric(name);
  }
  if (process.platform !== 'linux') {
    return;
  }
  const count = openDescriptorCounter();
  new Gauge({
    name: 'process_open_fds',
    help: 'Number of open file descriptors.',
    registers: [registry],
    collect() {
      this.set(count());
    },
  });
}

/**
 * Linux 6.2 and later give the number of open descriptors as the size of /proc/self/fd (a count
 * of a bitmap, no listing); older kernels report 0, and get a listing at most once a minute.
 */
function openDescriptorCounter(): () => number {
  let listed: { count: number; at: number } | undefined;
  return () => {
    const size = statSync(FD_DIRECTORY).size;
    if (size > 0) {
      return size;
    }
    const now = Date.now();
    if (!listed || now - listed.at > FD_LISTING_INTERVAL_MS) {
      // Minus the descriptor the listing itself had open.
      listed = { count: readdirSync(FD_DIRECTORY).length - 1, at: now };
    }
    return listed.count;
  };
}
