import { Client } from 'pg';
import { withinLoopTime } from '@libs/redis';

/**
 * A PostgreSQL connection of the readiness probe's own, beside the application's pool: a probe
 * that borrowed a pooled connection would wait behind application queries and call a busy pool a
 * dead database. Opened at the first check; dropped on any error or timeout and opened again at
 * the next one, so a terminated backend or a restarted server is seen as it is.
 */
export class PostgresProbe {
  private client: Promise<Client> | undefined;

  constructor(
    private readonly url: string,
    private readonly timeoutMs: number,
  ) {}

  /** Resolves when PostgreSQL answers `SELECT 1` within the timeout (in event-loop time). */
  async ping(): Promise<void> {
    const client = (this.client ??= this.open());
    try {
      await withinLoopTime(
        client.then((connected) => connected.query('SELECT 1')),
        this.timeoutMs,
        () => new Error(`no answer within ${this.timeoutMs} ms`),
      );
    } catch (error) {
      this.drop(client);
      throw error;
    }
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.then((connected) => connected.end()).catch(() => undefined);
  }

  private open(): Promise<Client> {
    const client = new Client({
      connectionString: this.url,
      application_name: 'switchboard-readiness',
    });
    const connected = client.connect().then(
      () => client,
      (error: Error) => {
        void client.end().catch(() => undefined);
        throw error;
      },
    );
    // An idle connection that the server ends (a restart, pg_terminate_backend) emits 'error'.
    client.on('error', () => this.drop(connected));
    client.on('end', () => this.drop(connected));
    return connected;
  }

  private drop(client: Promise<Client> | undefined): void {
    if (client && this.client === client) {
      this.client = undefined;
      void client.then((connected) => connected.end()).catch(() => undefined);
    }
  }
}
