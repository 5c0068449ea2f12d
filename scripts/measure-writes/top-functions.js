#!/usr/bin/env node
// Summarises a .cpuprofile (node --cpu-prof): self time by function and by package, top first.
//   node scripts/measure-writes/top-functions.js PROFILE [COUNT]
const { readFileSync } = require('node:fs');
const profile = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const count = Number(process.argv[3] ?? 25);
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const self = new Map();
const deltas = profile.timeDeltas;
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (deltas[i] ?? 0)));
const total = [...self.values()].reduce((a, b) => a + b, 0);
const functions = new Map();
const packages = new Map();
for (const [id, micros] of self) {
  const { functionName, url, lineNumber } = byId.get(id).callFrame;
  const key = `${functionName || '(anonymous)'} ${url.replace(/^.*node_modules\//, '')}:${lineNumber}`;
  functions.set(key, (functions.get(key) ?? 0) + micros);
  const pkg = url.includes('node_modules/')
    ? url
        .replace(/^.*node_modules\//, '')
        .split('/')
        .slice(0, url.includes('/@') ? 2 : 1)
        .join('/')
    : url.includes('/dist/')
      ? 'switchboard'
      : url || functionName;
  packages.set(pkg, (packages.get(pkg) ?? 0) + micros);
}
const show = (title, map) => {
  console.log(`\n${title}`);
  for (const [key, micros] of [...map].sort((a, b) => b[1] - a[1]).slice(0, count)) {
    console.log(`${((100 * micros) / total).toFixed(1).padStart(5)} %  ${key}`);
  }
};
show('by package', packages);
show('by function', functions);
