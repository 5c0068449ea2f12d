#!/usr/bin/env node
// Runs the service-backed suites against real PostgreSQL and Redis. Fails (never skips) when
// either is unreachable. Each suite creates its own database (see test/support/test-database.ts)
// and its own Redis key prefix, so runs do not disturb each other or the data on the server.
const { spawnSync } = require('node:child_process');
const net = require('node:net');
const path = require('node:path');

const databaseUrl = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';

function reachable(url, defaultPort) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({
      host: hostname,
      port: Number(port || defaultPort),
      timeout: 3000,
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

async function main() {
  const missing = [];
  if (!(await reachable(databaseUrl, 5432))) {
    missing.push(`PostgreSQL at ${new URL(databaseUrl).host} (DATABASE_URL)`);
  }
  if (!(await reachable(redisUrl, 6379))) {
    missing.push(`Redis at ${new URL(redisUrl).host} (REDIS_URL)`);
  }
  if (missing.length > 0) {
    console.error(`test:services needs ${missing.join(' and ')}: not reachable.`);
    process.exit(1);
  }
  const root = path.resolve(__dirname, '..', '..');
  const result = spawnSync(
    process.execPath,
    [
      require.resolve('jest/bin/jest'),
      '--config',
      'test/jest-services.config.js',
      ...process.argv.slice(2),
    ],
    {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, TEST_DATABASE_URL: databaseUrl, TEST_REDIS_URL: redisUrl },
    },
  );
  process.exit(result.status ?? 1);
}

void main();
