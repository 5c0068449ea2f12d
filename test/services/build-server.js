// Jest global setup of `npm run test:services`: compiles the server once (`nest build` into
// dist/), for the suites that run it as separate processes (test/support/server-process.ts).
const { spawnSync } = require('node:child_process');
const path = require('node:path');

/** Set by run-services.js once it has built: its jest passes then skip the build. */
const BUILT_VARIABLE = 'TEST_SERVER_BUILT';

function buildServer() {
  if (process.env[BUILT_VARIABLE] === '1') {
    return;
  }
  const root = path.resolve(__dirname, '..', '..');
  const result = spawnSync(
    process.execPath,
    [path.join(root, 'node_modules', '@nestjs', 'cli', 'bin', 'nest.js'), 'build'],
    { cwd: root, stdio: 'inherit', timeout: 300_000 },
  );
  if (result.status !== 0) {
    throw new Error(`nest build failed (${result.error?.message ?? `exit ${result.status}`})`);
  }
}

module.exports = buildServer;
module.exports.BUILT_VARIABLE = BUILT_VARIABLE;
