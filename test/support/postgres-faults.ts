import type { Client, Pool } from 'pg';
import { DataSource } from 'typeorm';

/** A statement as the app's pool sends it. */
export type StatementFilter = (text: string, values: unknown) => boolean;

export interface CommitLoss {
  /** How many statements had their connection cut after they committed. */
  readonly dropped: number;
  /** Stops cutting (statements already cut stay cut). */
  stop(): void;
}

/**
 * Cuts the connection of the app's next `times` statements that match `filter`, after PostgreSQL
 * has run and committed them and before their answer is read: what a network failure between the
 * COMMIT and its reply looks like to the app (the outcome is unknown to it). The reply's messages
 * are dropped up to ReadyForQuery, which PostgreSQL sends after the commit; then the socket is
 * destroyed and the pg client fails the statement with "Connection terminated unexpectedly".
 */
export function loseCommitReplies(
  dataSource: DataSource,
  filter: StatementFilter,
  times = 1,
): CommitLoss {
  const pool = (dataSource.driver as unknown as { master: Pool }).master;
  const instrumented = new WeakSet<Client>();
  let remaining = times;
  let dropped = 0;
  let stopped = false;

  const instrument = (client: Client) => {
    if (instrumented.has(client)) {
      return;
    }
    instrumented.add(client);
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (
      ...args: unknown[]
    ) => {
      const [config, values] = args;
      const text = typeof config === 'string' ? config : (config as { text?: string }).text;
      if (!stopped && remaining > 0 && text !== undefined && filter(text, values)) {
        remaining -= 1;
        cutAfterReadyForQuery(client, () => (dropped += 1));
      }
      return query(...args);
    };
  };
  pool.on('acquire', instrument);

  return {
    get dropped() {
      return dropped;
    },
    stop: () => {
      stopped = true;
      pool.off('acquire', instrument);
    },
  };
}

/** Swallows the server's messages to `client` until ReadyForQuery, then destroys the socket. */
function cutAfterReadyForQuery(client: Client, onCut: () => void): void {
  const connection = (
    client as unknown as {
      connection: {
        emit: (event: string, ...args: unknown[]) => boolean;
        stream: { destroy(): void };
      };
    }
  ).connection;
  const emit = connection.emit;
  connection.emit = (event: string, ...args: unknown[]) => {
    if (event === 'end' || event === 'error') {
      return emit.call(connection, event, ...args);
    }
    if (event !== 'readyForQuery') {
      return true;
    }
    connection.emit = emit;
    connection.stream.destroy();
    onCut();
    return true;
  };
}
