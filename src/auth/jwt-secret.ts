import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { AppConfig } from '@config';

const SECRET_FILE = 'jwt-secret';

/**
 * The HS256 key: JWT_SECRET when set (required in production, where every instance of a fleet
 * must share it). Otherwise one generated on first start and kept in DATA_DIR, so that tokens
 * survive a restart of a development server.
 */
export function resolveJwtSecret(config: AppConfig): string {
  if (config.auth.jwtSecret) {
    return config.auth.jwtSecret;
  }
  const path = join(config.dataDirectory, SECRET_FILE);
  new Logger('JwtSecret').warn(
    `JWT_SECRET is not set: using the key kept in ${path}. Set JWT_SECRET in production.`,
  );
  mkdirSync(config.dataDirectory, { recursive: true });
  try {
    const secret = randomBytes(48).toString('base64url');
    // 'wx': of two processes starting at once, one writes and the other reads what it wrote.
    writeFileSync(path, secret, { mode: 0o600, flag: 'wx' });
    return secret;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw error;
    }
    return readFileSync(path, 'utf8').trim();
  }
}
