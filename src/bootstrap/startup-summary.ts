import { AppConfig } from '@config';

/**
 * The first line of `npm start`: where the server listens, which database and which Redis it
 * uses, and where its API docs are. Never a password: URLs are reduced to host, port and name.
 */
export function startupSummary(config: AppConfig, url: string): string {
  return [
    `Switchboard listening on ${url}`,
    `database: ${describeDatabase(config.database)}`,
    `Redis: ${describeRedis(config.redis)}`,
    `API docs: ${config.http.docs ? `${url}/docs` : 'off (DOCS=true serves them)'}`,
  ].join(' · ');
}

function describeDatabase(database: AppConfig['database']): string {
  if (database.type === 'sqlite') {
    return `SQLite ${database.path}`;
  }
  return `PostgreSQL ${hostAndPort(database.url, 5432)}${new URL(database.url).pathname}`;
}

function describeRedis({ url, clusterNodes }: AppConfig['redis']): string {
  if (clusterNodes) {
    return `cluster, seed nodes ${clusterNodes.map((node) => hostAndPort(withScheme(node), 6379)).join(', ')}`;
  }
  return url ? hostAndPort(url, 6379) : 'none (embedded, in-process)';
}

/** A cluster node may be written host:port: the URL parser needs a scheme. */
function withScheme(node: string): string {
  return node.includes('://') ? node : `redis://${node}`;
}

function hostAndPort(url: string, defaultPort: number): string {
  const { hostname, port } = new URL(url);
  return `${hostname}:${port || defaultPort}`;
}
