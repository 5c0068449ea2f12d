import Redis from 'ioredis';
import { Client } from 'pg';
import type { BenchServices } from '@bench/scenarios/scenario';

/** The PostgreSQL server whose admin database the bench creates its databases from. */
export const DEFAULT_POSTGRES_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * Which services are reachable (BENCH_POSTGRES_URL / BENCH_REDIS_URL, else the local defaults);
 * the scenarios that need a missing one are skipped, and the report says why.
 */
export async function probeServices(): Promise<BenchServices & { unreachable: string[] }> {
  const postgresAdminUrl = process.env.BENCH_POSTGRES_URL || DEFAULT_POSTGRES_ADMIN_URL;
  const redisUrl = process.env.BENCH_REDIS_URL || DEFAULT_REDIS_URL;
  requireLoopback(postgresAdminUrl);
  requireLoopback(redisUrl);
  const [postgres, redis] = await Promise.all([
    reachable(() => pingPostgres(postgresAdminUrl)),
    reachable(() => pingRedis(redisUrl)),
  ]);
  return {
    postgresAdminUrl: postgres ? postgresAdminUrl : undefined,
    redisUrl: redis ? redisUrl : undefined,
    unreachable: [
      ...(postgres ? [] : [`PostgreSQL at ${postgresAdminUrl}`]),
      ...(redis ? [] : [`Redis at ${redisUrl}`]),
    ],
  };
}

/** The bench sends traffic to this machine only (127.0.0.0/8). */
function requireLoopback(url: string): void {
  const host = new URL(url).hostname;
  if (!/^127\.\d+\.\d+\.\d+$/.test(host) && host !== 'localhost') {
    throw new Error(`${url}: the bench only talks to 127.0.0.0/8`);
  }
}

async function reachable(ping: () => Promise<void>): Promise<boolean> {
  try {
    await ping();
    return true;
  } catch {
    return false;
  }
}

async function pingPostgres(url: string): Promise<void> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  await client.connect();
  await client.end();
}

async function pingRedis(url: string): Promise<void> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 3000,
    maxRetriesPerRequest: 0,
  });
  try {
    await redis.connect();
    await redis.ping();
  } finally {
    redis.disconnect();
  }
}
