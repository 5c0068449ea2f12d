#!/usr/bin/env node
// Runs the service-backed suites against real PostgreSQL and Redis. Fails (never skips) when
// either is unreachable. Each suite creates its own database (see test/support/test-database.ts)
// and its own Redis key prefix, so runs do not disturb each other or the data on the server.
// Then runs the suites of cluster-suites.js again on a Redis Cluster of 3 primaries of its own
// (TEST_REDIS_CLUSTER_NODES; TEST_REDIS_URL still set), stopped however that pass ends.
// Arguments go to both passes; the cluster pass runs the selected suites that cluster-suites.js
// lists, if any.
const { spawn } = require('node:child_process');
const { existsSync } = require('node:fs');
const net = require('node:net');
const { constants } = require('node:os');
const path = require('node:path');
const buildServer = require('./build-server');
const { CLUSTER_SUITES } = require('./cluster-suites');

const databaseUrl = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const CLUSTER_PRIMARIES = 3;

const root = path.resolve(__dirname, '..', '..');
// Emitted by `nest build` (tsconfig.build.json lists it): one harness for the suites and this.
const CLUSTER_HARNESS = path.join(root, 'dist', 'test', 'support', 'redis-cluster-process.js');

/** What a signal has to stop: the running jest and the cluster, if any. */
const running = { jest: undefined, cluster: undefined, interrupted: false };

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

function header(line) {
  console.log(`\n=== test:services: ${line} ===\n`);
}

/** Runs jest with the services config; resolves with its exit code (1 when a signal ended it). */
function runJest(args, env, stdout = 'inherit') {
  const child = spawn(
    process.execPath,
    // --forceExit: a handle some cluster connection leaves open (the "did not exit" warning)
    // once held a passed run for over 14 minutes; the suites' own afterAll hooks still run.
    [
      require.resolve('jest/bin/jest'),
      '--config',
      'test/jest-services.config.js',
      '--forceExit',
      ...args,
    ],
    { cwd: root, stdio: ['inherit', stdout, 'inherit'], env },
  );
  running.jest = child;
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk.toString()));
  return new Promise((resolve) => {
    child.once('error', (error) => {
      console.error(`jest did not start: ${error.message}`);
      resolve({ status: 1, output });
    });
    child.once('exit', (code) => {
      running.jest = undefined;
      resolve({ status: code ?? 1, output });
    });
  });
}

/**
 * The arguments of the cluster pass: the user's, with every suite outside CLUSTER_SUITES ignored,
 * so that it runs the intersection of both selections. Last: jest's array option would take the
 * user's test paths after it as its own values.
 */
function clusterPassArguments(args) {
  const listed = CLUSTER_SUITES.map((pattern) => `(?:${pattern})`).join('|');
  return [...args, '--testPathIgnorePatterns', `^(?!.*(?:${listed}))`, '/node_modules/'];
}

/** The suites `args` select, as jest lists them. */
async function listSuites(args, env) {
  const { status, output } = await runJest([...args, '--listTests', '--json'], env, 'pipe');
  if (status !== 0) {
    throw new Error(`jest --listTests exited with ${status}`);
  }
  return JSON.parse(output);
}

/** The cluster pass; resolves with its exit code. The cluster is stopped whatever happens. */
async function clusterPass(args, env) {
  const clusterArgs = clusterPassArguments(args);
  const suites = await listSuites(clusterArgs, env);
  if (suites.length === 0) {
    header(
      'cluster pass skipped: none of the selected suites is listed in test/services/cluster-suites.js',
    );
    return 0;
  }
  if (!existsSync(CLUSTER_HARNESS)) {
    throw new Error(`${CLUSTER_HARNESS} is missing: nest build did not emit the cluster harness`);
  }
  const { RedisClusterProcess } = require(CLUSTER_HARNESS);
  const cluster = await RedisClusterProcess.start({ primaries: CLUSTER_PRIMARIES });
  running.cluster = cluster;
  try {
    header(
      `pass 2 of 2, Redis Cluster of ${CLUSTER_PRIMARIES} primaries (${cluster.nodesSetting}), ${suites.length} suites of cluster-suites.js`,
    );
    const { status } = await runJest(clusterArgs, {
      ...env,
      TEST_REDIS_CLUSTER_NODES: cluster.nodesSetting,
    });
    return status;
  } finally {
    running.cluster = undefined;
    await cluster.stop();
  }
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
    return 1;
  }
  // Once for both passes: their global setup (build-server.js) sees the variable and skips it.
  buildServer();
  const env = {
    ...process.env,
    TEST_DATABASE_URL: databaseUrl,
    TEST_REDIS_URL: redisUrl,
    [buildServer.BUILT_VARIABLE]: '1',
  };
  const args = process.argv.slice(2);

  header(`pass 1 of 2, single Redis at ${new URL(redisUrl).host}`);
  const { status: singleStatus } = await runJest(args, env);
  if (running.interrupted) {
    return null;
  }
  let clusterStatus;
  try {
    clusterStatus = await clusterPass(args, env);
  } catch (error) {
    console.error(`test:services: the cluster pass failed: ${error.message}`);
    clusterStatus = 1;
  }
  if (running.interrupted) {
    return null;
  }
  if (singleStatus !== 0 || clusterStatus !== 0) {
    console.error(
      `test:services failed: single Redis pass ${singleStatus === 0 ? 'passed' : 'failed'}, cluster pass ${clusterStatus === 0 ? 'passed' : 'failed'}`,
    );
    return 1;
  }
  return 0;
}

/** Ctrl-C or SIGTERM: stop jest and the cluster, then exit. */
function stopOnSignal(signal) {
  process.once(signal, () => {
    running.interrupted = true;
    console.error(`\n${signal}: stopping jest and the Redis Cluster…`);
    running.jest?.kill(signal);
    void Promise.resolve(running.cluster?.stop()).finally(() =>
      process.exit(128 + constants.signals[signal]),
    );
  });
}

stopOnSignal('SIGINT');
stopOnSignal('SIGTERM');
main().then(
  (code) => code !== null && process.exit(code),
  async (error) => {
    console.error(`test:services: ${error.stack ?? error.message}`);
    await running.cluster?.stop();
    process.exit(1);
  },
);
