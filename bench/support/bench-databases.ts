import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { Client } from 'pg';
import { ResourceScope } from './resource-scope';

/**
 * A PostgreSQL database of the bench's own (`switchboard_bench_<pid>_<random>`), dropped when
 * `scope` closes; returns its URL. The server migrates it when it starts.
 */
export async function createBenchDatabase(scope: ResourceScope, adminUrl: string): Promise<string> {
  const name = `switchboard_bench_${process.pid}_${randomBytes(3).toString('hex')}`;
  await withClient(adminUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  scope.add(() =>
    withClient(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)),
  );
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A Redis key prefix of the bench's own; its keys are deleted when `scope` closes. */
export function createBenchRedisPrefix(scope: ResourceScope, redisUrl: string): string {
  const prefix = `switchboard-bench-${process.pid}-${randomBytes(3).toString('hex')}:`;
  scope.add(() => deleteKeys(redisUrl, prefix));
  return prefix;
}

async function withClient(url: string, work: (client: Client) => Promise<unknown>): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await work(client);
  } finally {
    await client.end();
  }
}

async function deleteKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) {
        await redis.del(...keys);
      }
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
