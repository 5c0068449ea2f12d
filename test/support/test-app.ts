import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppConfig, loadConfig } from '@config';
import { createApp } from '@app/bootstrap/create-app';
import { createTestDatabase, TestDatabase } from './test-database';
import { testRedisEnvironmentUnlessIn } from './test-redis';

export interface TestApp {
  app: NestFastifyApplication;
  config: AppConfig;
  /** The Node HTTP server, for supertest. */
  server: ReturnType<NestFastifyApplication['getHttpServer']>;
  /** Base URL on 127.0.0.1, for the generated client and WebSocket clients. */
  url: string;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Environment variables on top of the test defaults. */
  environment?: Record<string, string>;
  /** A database to use instead of a new one of its own (a fleet's apps share one). */
  database?: TestDatabase;
  /** Called between creating the app and starting it (e.g. `app.useGlobalGuards(…)`). */
  beforeListen?: (app: NestFastifyApplication) => void;
}

/**
 * The real application (same factory as `main.ts`) on its own data directory and database, so
 * that suites can run in parallel and in any order. Close it in `afterAll`.
 */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const dataDirectory = mkdtempSync(join(tmpdir(), 'switchboard-test-'));
  const ownDatabase = options.database === undefined;
  const database: TestDatabase = options.database ?? (await createTestDatabase());
  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: dataDirectory,
    DATABASE_URL: database.url,
    LOG_LEVEL: 'silent',
    ...testRedisEnvironmentUnlessIn(options.environment),
    // Suites make many requests from one address; the throttling suite sets its own limits.
    THROTTLE_LIMIT: '100000',
    AUTH_THROTTLE_LIMIT: '100000',
    WS_CONNECT_LIMIT: '100000',
    // A busy shared machine delays every event loop; that is not what a suite tests (the
    // load-shedding suite sets its own limits).
    SHED_MAX_EVENT_LOOP_DELAY_MS: '0',
    ...options.environment,
  });
  const app = await createApp(config);
  options.beforeListen?.(app);
  // Always on a port of its own: the generated client and WebSocket clients need a URL.
  await app.listen(0, '127.0.0.1');
  const url = await app.getUrl();
  return {
    app,
    config,
    server: app.getHttpServer(),
    url,
    close: async () => {
      await app.close();
      if (ownDatabase) {
        await database.drop();
      }
      rmSync(dataDirectory, { recursive: true, force: true });
    },
  };
}

/**
 * The suite's app: started in `beforeAll`, closed in `afterAll`. The object stands for the app
 * from `beforeAll` on (read its fields inside tests and hooks, not at the describe level).
 */
export function useTestApp(options: TestAppOptions = {}): TestApp {
  let started: TestApp | undefined;
  beforeAll(async () => {
    started = await startTestApp(options);
  });
  afterAll(async () => {
    await started?.close();
    started = undefined;
  });
  const current = (): TestApp => {
    if (!started) {
      throw new Error('useTestApp: the app runs from beforeAll to afterAll only');
    }
    return started;
  };
  return {
    get app() {
      return current().app;
    },
    get config() {
      return current().config;
    },
    get server() {
      return current().server;
    },
    get url() {
      return current().url;
    },
    close: () => current().close(),
  };
}

export interface TestFleet {
  apps: TestApp[];
  close(): Promise<void>;
}

/**
 * Several instances of the app, listening on 127.0.0.1, as a fleet runs them: one database, one
 * Redis key prefix (under test:services) and one JWT secret.
 */
export async function startTestFleet(
  size: number,
  options: TestAppOptions = {},
): Promise<TestFleet> {
  const database = await createTestDatabase();
  const environment: Record<string, string> = {
    ...testRedisEnvironmentUnlessIn(options.environment),
    JWT_SECRET: `fleet-secret-${randomBytes(16).toString('hex')}`,
    ...options.environment,
  };
  if (!database.url && !environment.DATA_DIR) {
    // Embedded: the instances share one SQLite file.
    environment.DATA_DIR = mkdtempSync(join(tmpdir(), 'switchboard-fleet-'));
  }
  const apps: TestApp[] = [];
  for (let i = 0; i < size; i++) {
    apps.push(await startTestApp({ ...options, database, environment }));
  }
  return {
    apps,
    close: async () => {
      await Promise.all(apps.map((app) => app.close()));
      await database.drop();
      if (environment.DATA_DIR) {
        rmSync(environment.DATA_DIR, { recursive: true, force: true });
      }
    },
  };
}
