import { existsSync } from 'node:fs';
import { AppConfig, ConfigValidationError, loadConfig } from '@config';

const ENV_FILE = '.env';

/**
 * The configuration of an entry point (`main.ts`, `cluster.ts`): the process environment, with a
 * local `.env` filling in what it does not set (real variables win).
 */
export function loadProcessConfig(): AppConfig {
  if (existsSync(ENV_FILE)) {
    process.loadEnvFile(ENV_FILE);
  }
  return loadConfig(process.env);
}

/** Ends an entry point that could not start: one line for a bad configuration, else the stack. */
export function exitOnStartupFailure(error: unknown): never {
  const report =
    error instanceof ConfigValidationError
      ? error.message
      : (error instanceof Error && error.stack) || String(error);
  process.stderr.write(`${report}\n`);
  process.exit(1);
}
