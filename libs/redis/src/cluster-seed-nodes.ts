import type { ClusterNode, RedisOptions } from 'ioredis';

/** The seed nodes of a Redis Cluster, and what every connection to one of its nodes needs. */
export interface ClusterSeeds {
  nodes: ClusterNode[];
  /** Credentials and TLS, from the first node written as a URL that has them. */
  nodeOptions: Pick<RedisOptions, 'username' | 'password' | 'tls'>;
  /** host:port of each seed: for logs and errors (never a password). */
  endpoints: string[];
}

/**
 * Reads `host:port` or `redis://[user:password@]host:port` (`rediss://` for TLS) entries, the
 * form of `REDIS_CLUSTER_NODES`. The client learns the other nodes from the seeds.
 */
export function parseClusterSeeds(entries: readonly string[]): ClusterSeeds {
  const nodeOptions: ClusterSeeds['nodeOptions'] = {};
  const nodes = entries.map((entry) => {
    const url = new URL(entry.includes('://') ? entry : `redis://${entry}`);
    if (url.password && nodeOptions.password === undefined) {
      nodeOptions.password = decodeURIComponent(url.password);
      if (url.username) {
        nodeOptions.username = decodeURIComponent(url.username);
      }
    }
    if (url.protocol === 'rediss:') {
      nodeOptions.tls = {};
    }
    // URL keeps IPv6 hosts in brackets; a socket wants them bare.
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    return { host, port: Number(url.port || 6379) };
  });
  return {
    nodes,
    nodeOptions,
    endpoints: nodes.map(({ host, port }) => `${host}:${port}`),
  };
}
