// `npm run openapi:lint`: checks openapi.json against the OpenAPI 3 schema and Redocly's
// recommended rules (any error or warning fails), then Spectral's OpenAPI rules with the OWASP API
// Security ruleset (.spectral.yaml, which names and justifies each exception; any error fails).
import { spawnSync } from 'node:child_process';
import { createConfig, lint } from '@redocly/openapi-core';

const DOCUMENT = new URL('../openapi.json', import.meta.url).pathname;

/** Redocly findings that are true of the server as it is, by rule and place, with the reason. */
const ACCEPTED = [
  // The liveness and readiness probes take no input and need no token: they answer no 4xx.
  { ruleId: 'operation-4xx-response', pointer: '#/paths/~1health/get/responses' },
  { ruleId: 'operation-4xx-response', pointer: '#/paths/~1health~1ready/get/responses' },
];

const config = await createConfig({
  extends: ['recommended'],
  rules: {
    // @nestjs/swagger describes a property whose type is a named enum as
    // `allOf: [{ $ref }]` plus a description: OpenAPI 3.0 allows no siblings beside a bare $ref.
    'no-illogical-composition-keywords': 'off',
  },
});
const problems = (await lint({ ref: DOCUMENT, config })).filter(
  (problem) =>
    !ACCEPTED.some(
      (accepted) =>
        accepted.ruleId === problem.ruleId && accepted.pointer === problem.location?.[0]?.pointer,
    ),
);
for (const problem of problems) {
  const where = problem.location?.[0]?.pointer ?? '';
  console.error(`${problem.severity} ${problem.ruleId}: ${problem.message} ${where}`);
}
console.log(`openapi.json: ${problems.length} Redocly problem(s)`);

const spectral = spawnSync(
  'npx',
  [
    '--no-install',
    'spectral',
    'lint',
    DOCUMENT,
    '--ruleset',
    '.spectral.yaml',
    '--fail-severity',
    'error',
    '--display-only-failures',
  ],
  { stdio: 'inherit', cwd: new URL('..', import.meta.url).pathname },
);
process.exit(problems.length === 0 && spectral.status === 0 ? 0 : 1);
