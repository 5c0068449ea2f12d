import type { Client, Pool } from 'pg';
import { DataSource } from 'typeorm';

/** A statement as the app's pool sends it. */
export type StatementFilter = (text: string, values: unknown) => boolean;

/** When the connection of a matching statement is cut. */
export type CutMoment = 'before it is sent' | 'after its commit';

export interface ConnectionCut {
  /** How many statements had their connection cut. */
  readonly cut: number;
  /** Stops cutting (statements already cut stay cut). */
  stop(): void;
}

/**
 * Cuts the connection of the app's next `times` statements that match `filter`, as a network
 * failure would; either way the pg client fails the statement with "Connection terminated
 * unexpectedly" and the app cannot tell whether it committed.
 * - 'before it is sent': the socket is destroyed first; PostgreSQL never sees the statement.
 * - 'after its commit': PostgreSQL runs and commits it; the reply's messages are dropped up to
 *   ReadyForQuery (which PostgreSQL sends after the commit), then the socket is destroyed.
 */
export function cutConnections(
  dataSource: DataSource,
  filter: StatementFilter,
  moment: CutMoment,
  times = 1,
): ConnectionCut {
  const pool = (dataSource.driver as unknown as { master: Pool }).master;
  const instrumented = new WeakSet<Client>();
  let remaining = times;
  let cut = 0;
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
        cut += 1;
        if (moment === 'before it is sent') {
          socketOf(client).destroy();
        } else {
          cutAfterReadyForQuery(client);
        }
      }
      return query(...args);
    };
  };
  pool.on('acquire', instrument);

  return {
    get cut() {
      return cut;
    },
    stop: () => {
      stopped = true;
      pool.off('acquire', instrument);
    },
  };
}

/** pg's connection of a client: the parsed messages and the socket (not public API). */
interface PgConnection {
  emit: (event: string, ...args: unknown[]) => boolean;
  stream: { destroy(): void };
}

const connectionOf = (client: Client) =>
  (client as unknown as { connection: PgConnection }).connection;
const socketOf = (client: Client) => connectionOf(client).stream;

/** Swallows the server's messages to `client` until ReadyForQuery, then destroys the socket. */
function cutAfterReadyForQuery(client: Client): void {
  const connection = connectionOf(client);
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
    return true;
  };
}
