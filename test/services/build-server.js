// Jest global setup of `npm run test:services`: compiles the server once (`nest build` into
// dist/), for the suites that run it as separate processes (test/support/server-process.ts).
const { spawnSync } = require('node:child_process');
const path = require('node:path');

module.exports = function buildServer() {
  const root = path.resolve(__dirname, '..', '..');
  const result = spawnSync(
    process.execPath,
    [path.join(root, 'node_modules', '@nestjs', 'cli', 'bin', 'nest.js'), 'build'],
    { cwd: root, stdio: 'inherit', timeout: 300_000 },
  );
  if (result.status !== 0) {
    throw new Error(`nest build failed (${result.error?.message ?? `exit ${result.status}`})`);
  }
};
