import { spawn } from 'node:child_process';
import { createServer, Socket } from 'node:net';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { registerProcessMetrics } from '@app/metrics/process-metrics';

/**
 * What one `/metrics` scrape of the process metrics costs with N open sockets: prom-client's
 * defaults (which list every descriptor and handle) beside the app's process metrics, in the same
 * run. The sockets are accepted here from a client process on 127.0.0.1, as a server holds them.
 * Run after `npm run build`:
 *   node dist/scripts/measure-metrics/scrape-cost.js [sockets=10000]
 */
const sockets = Number(process.argv[2] ?? 10_000);
const SCRAPES = 20;

const CLIENT = `
const net = require('node:net');
const [port, count] = process.argv.slice(1).map(Number);
let open = 0;
for (let i = 0; i < count; i++) {
  net.connect(port, '127.0.0.1', () => { if (++open === count) console.log('ready'); })
    .on('error', (e) => { console.error(e.message); process.exit(1); });
}
process.stdin.on('end', () => process.exit(0)).resume();
`;

async function timeScrapes(registry: Registry): Promise<{ median: number; p95: number }> {
  for (let i = 0; i < 3; i++) {
    await registry.metrics();
  }
  const durations: number[] = [];
  for (let i = 0; i < SCRAPES; i++) {
    const started = performance.now();
    await registry.metrics();
    durations.push(performance.now() - started);
  }
  durations.sort((a, b) => a - b);
  return {
    median: durations[Math.floor(durations.length / 2)],
    p95: durations[Math.ceil(durations.length * 0.95) - 1],
  };
}

async function main(): Promise<void> {
  const accepted: Socket[] = [];
  const server = createServer((socket) => accepted.push(socket));
  server.listen(0, '127.0.0.1', 4096);
  await once(server, 'listening');
  const { port } = server.address() as { port: number };

  const defaults = new Registry();
  collectDefaultMetrics({ register: defaults });
  const app = new Registry();
  registerProcessMetrics(app);

  const idleDefaults = await timeScrapes(defaults);
  const idleApp = await timeScrapes(app);

  const client = spawn(process.execPath, ['-e', CLIENT, String(port), String(sockets)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  await once(client.stdout, 'data');
  while (accepted.length < sockets) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const busyDefaults = await timeScrapes(defaults);
  const busyApp = await timeScrapes(app);

  const row = (name: string, idle: typeof idleApp, busy: typeof idleApp) =>
    `| ${name} | ${idle.median.toFixed(2)} / ${idle.p95.toFixed(2)} | ${busy.median.toFixed(2)} / ${busy.p95.toFixed(2)} |`;
  console.log(
    `scrape time in ms (median / p95 of ${SCRAPES}), ${sockets} sockets open in this process`,
  );
  console.log('| registry | no sockets | with sockets |');
  console.log('| --- | --: | --: |');
  console.log(row("prom-client's defaults", idleDefaults, busyDefaults));
  console.log(row("the app's process metrics", idleApp, busyApp));

  client.stdin.end();
  accepted.forEach((socket) => socket.destroy());
  server.close();
}

void main();
