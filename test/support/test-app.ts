import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppConfig, loadConfig } from '@config';
import { createApp } from '@app/bootstrap/create-app';
import { createTestDatabase, TestDatabase } from './test-database';
import { testRedisEnvironment } from './test-redis';

export interface TestApp {
  app: NestFastifyApplication;
  config: AppConfig;
  /** The Node HTTP server, for supertest. */
  server: ReturnType<NestFastifyApplication['getHttpServer']>;
  /** Base URL when started with `listen: true` (WebSocket tests), else undefined. */
  url?: string;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Environment variables on top of the test defaults. */
  environment?: Record<string, string>;
  /** Listen on an ephemeral port of 127.0.0.1 (needed by real socket clients). */
  listen?: boolean;
}

/**
 * The real application (same factory as `main.ts`) on its own data directory and database, so
 * that suites can run in parallel and in any order. Close it in `afterAll`.
 */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const dataDirectory = mkdtempSync(join(tmpdir(), 'switchboard-test-'));
  const database: TestDatabase = await createTestDatabase();
  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: dataDirectory,
    DATABASE_URL: database.url,
    LOG_LEVEL: 'silent',
    ...testRedisEnvironment(),
    // Suites make many requests from one address; the throttling suite sets its own limits.
    THROTTLE_LIMIT: '100000',
    AUTH_THROTTLE_LIMIT: '100000',
    WS_CONNECT_LIMIT: '100000',
    ...options.environment,
  });
  const app = await createApp(config);
  let url: string | undefined;
  if (options.listen) {
    await app.listen(0, '127.0.0.1');
    url = await app.getUrl();
  } else {
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  }
  return {
    app,
    config,
    server: app.getHttpServer(),
    url,
    close: async () => {
      await app.close();
      await database.drop();
      rmSync(dataDirectory, { recursive: true, force: true });
    },
  };
}
