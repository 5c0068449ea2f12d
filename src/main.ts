import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { ConfigValidationError, loadConfig } from '@config';
import { createApp } from './bootstrap/create-app';
import { exitGracefullyOnSignals } from './bootstrap/graceful-shutdown';

const ENV_FILE = '.env';

async function bootstrap(): Promise<void> {
  // A local .env fills in what the real environment does not set (real variables win).
  if (existsSync(ENV_FILE)) {
    process.loadEnvFile(ENV_FILE);
  }
  const config = loadConfig(process.env);
  const app = await createApp(config);
  exitGracefullyOnSignals(app, config.http.shutdownTimeoutMs);
  await app.listen(config.http.port, config.http.host);
}

bootstrap().catch((error: unknown) => {
  // A bad environment is the operator's to fix: one line that names it, no stack trace.
  const report =
    error instanceof ConfigValidationError
      ? error.message
      : (error instanceof Error && error.stack) || String(error);
  process.stderr.write(`${report}\n`);
  process.exit(1);
});
