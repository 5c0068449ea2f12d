// `npm run openapi`: writes openapi.json from the code, without opening a port.
// Runs from dist/ (see package.json), where the @nestjs/swagger CLI plugin has described the DTOs.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '@config';
import { createApp } from '@app/bootstrap/create-app';
import { createOpenApiDocument, sortKeys } from '@app/openapi/openapi-document';

const OUTPUT = resolve(__dirname, '..', '..', 'openapi.json');

async function exportOpenApi(): Promise<void> {
  // The app needs a database to start; a throw-away SQLite file does, whatever the environment.
  const dataDirectory = mkdtempSync(join(tmpdir(), 'switchboard-openapi-'));
  try {
    const config = loadConfig({
      NODE_ENV: 'test',
      DATA_DIR: dataDirectory,
      LOG_LEVEL: 'silent',
      DOCS: 'false',
      JWT_SECRET: 'openapi-export-only-never-used-to-sign'.padEnd(32, '.'),
    });
    const app = await createApp(config);
    const document = sortKeys(createOpenApiDocument(app));
    writeFileSync(OUTPUT, `${JSON.stringify(document, null, 2)}\n`);
    await app.close();
    process.stdout.write(`wrote ${OUTPUT}\n`);
  } finally {
    rmSync(dataDirectory, { recursive: true, force: true });
  }
}

exportOpenApi().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
