import { randomBytes } from 'node:crypto';

/**
 * Redis for one test suite: under `npm run test:services`, TEST_REDIS_URL names the server (and
 * in the cluster pass TEST_REDIS_CLUSTER_NODES a cluster, which then takes its place) and each
 * suite gets its own key prefix: pass the result to the app as its environment. On the embedded
 * defaults there is none and the app runs in-process.
 */
export function testRedisEnvironment(): Record<string, string> {
  const url = process.env.TEST_REDIS_URL;
  if (!url) {
    return {};
  }
  const keyPrefix = `switchboard-test-${randomBytes(4).toString('hex')}:`;
  const clusterNodes = process.env.TEST_REDIS_CLUSTER_NODES;
  return clusterNodes
    ? { REDIS_CLUSTER_NODES: clusterNodes, REDIS_KEY_PREFIX: keyPrefix }
    : { REDIS_URL: url, REDIS_KEY_PREFIX: keyPrefix };
}

/**
 * `testRedisEnvironment()`, unless `environment` names a Redis of its own (a server or cluster
 * the suite stops): then that one alone, not the pass's as well.
 */
export function testRedisEnvironmentUnlessIn(
  environment: Record<string, string> | undefined,
): Record<string, string> {
  return environment?.REDIS_URL || environment?.REDIS_CLUSTER_NODES ? {} : testRedisEnvironment();
}

/** The Redis server of `npm run test:services`; throws elsewhere, so a service suite cannot skip. */
export function requireTestRedisUrl(): string {
  const url = process.env.TEST_REDIS_URL;
  if (!url) {
    throw new Error('TEST_REDIS_URL is not set: run this suite with `npm run test:services`');
  }
  return url;
}

/**
 * The Redis Cluster of the second pass of `npm run test:services` (its seed nodes), where the
 * suites that share Redis features run again on a 3-primary cluster; undefined otherwise.
 */
export function testRedisClusterNodes(): string[] | undefined {
  const nodes = process.env.TEST_REDIS_CLUSTER_NODES;
  return nodes ? nodes.split(',') : undefined;
}

/** What a suite's own `RedisConnection` connects to: the pass's cluster, or its one Redis. */
export function testRedisTarget(): { url: string } | { clusterNodes: string[] } {
  const clusterNodes = testRedisClusterNodes();
  return clusterNodes ? { clusterNodes } : { url: requireTestRedisUrl() };
}
