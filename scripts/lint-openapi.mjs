// `npm run openapi:lint`: checks openapi.json against the OpenAPI 3 schema and Redocly's
// recommended rules. Exits 1 on any error or warning.
import { createConfig, lint } from '@redocly/openapi-core';

const config = await createConfig({
  extends: ['recommended'],
  rules: {
    // @nestjs/swagger describes a property whose type is a named enum as
    // `allOf: [{ $ref }]` plus a description: OpenAPI 3.0 allows no siblings beside a bare $ref.
    'no-illogical-composition-keywords': 'off',
  },
});
const problems = await lint({ ref: new URL('../openapi.json', import.meta.url).pathname, config });
for (const problem of problems) {
  const where = problem.location?.[0]?.pointer ?? '';
  console.error(`${problem.severity} ${problem.ruleId}: ${problem.message} ${where}`);
}
console.log(`openapi.json: ${problems.length} problem(s)`);
process.exit(problems.length === 0 ? 0 : 1);
