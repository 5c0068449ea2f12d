import { RegisteredUser } from './auth-helpers';
import { RedisServerProcess } from './redis-server-process';
import { createServerSetup, ServerProcess, ServerSetup } from './server-process';
import { requireTestDatabaseUrl } from './test-database';
import { requireTestRedisUrl } from './test-redis';
import { waitUntil } from './wait-until';
import { useWsTestClients, WsTestClient } from './ws-test-client';

/** Server processes of one fleet: one PostgreSQL database, one JWT secret, one Redis. */
export interface ProcessFleet {
  /** The fleet's own redis-server: a suite may stop it and start it again on the same port. */
  readonly redis: RedisServerProcess;
  readonly instances: readonly ServerProcess[];
  /** A WebSocket client of `user` on `instance`, closed after the test. */
  connect(instance: ServerProcess, user: RegisteredUser): Promise<WsTestClient>;
}

/**
 * Starts `size` server processes on a redis-server of the suite's own (so that it can fail
 * without disturbing other suites) before the suite, closes each test's clients after it, and
 * stops everything after the suite.
 */
export function useProcessFleet(
  size: number,
  environment: Record<string, string> = {},
): ProcessFleet {
  let redis: RedisServerProcess | undefined;
  let setup: ServerSetup | undefined;
  let instances: ServerProcess[] = [];

  beforeAll(async () => {
    requireTestDatabaseUrl();
    requireTestRedisUrl();
    redis = await RedisServerProcess.start();
    setup = await createServerSetup({ REDIS_URL: redis.url, ...environment });
    const { environment: serverEnvironment } = setup;
    instances = await Promise.all(
      Array.from({ length: size }, () => ServerProcess.start(serverEnvironment)),
    );
  });

  const clients = useWsTestClients();

  afterAll(async () => {
    await Promise.all(instances.map((instance) => instance.kill()));
    await setup?.remove();
    await redis?.stop();
  });

  return {
    get redis() {
      if (!redis) {
        throw new Error('The fleet starts in beforeAll');
      }
      return redis;
    },
    get instances() {
      return instances;
    },
    connect: clients.connect,
  };
}

/** Until `instance` reports Redis (cache, bus) healthy again: after a suite's Redis fault. */
export async function waitUntilBackOnRedis(instance: ServerProcess): Promise<void> {
  await waitUntil(
    async () => {
      const response = await fetch(`${instance.url}/health/ready`);
      const { degraded } = (await response.json()) as { degraded?: string[] };
      return response.ok && degraded?.length === 0;
    },
    15_000,
    'the instance to be back on Redis, nothing degraded',
  );
}
