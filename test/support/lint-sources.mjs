// Lints sources that exist only in memory, each at the path it claims, with the project's own
// ESLint config: reads [{ filePath, code }] as JSON on stdin, writes [{ filePath, messages }].
// A separate process because ESLint loads its config with import(), which Jest's CommonJS cannot.
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';

const chunks = [];
for await (const chunk of process.stdin) {
  chunks.push(chunk);
}
const sources = JSON.parse(Buffer.concat(chunks).toString('utf8'));
// Files that do not exist cannot be type-checked; the boundary rules need no types.
const eslint = new ESLint({
  cwd: process.cwd(),
  overrideConfig: tseslint.configs.disableTypeChecked,
});
const results = [];
for (const { filePath, code } of sources) {
  const [result] = await eslint.lintText(code, { filePath });
  results.push({
    filePath,
    messages: result.messages.map(({ ruleId, message }) => ({ ruleId, message })),
  });
}
process.stdout.write(JSON.stringify(results));
