import { INestApplication, Logger } from '@nestjs/common';

const SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

/**
 * On SIGTERM or SIGINT: close the app (WebSocket clients get 1001, the HTTP server stops
 * accepting and finishes in-flight requests, then the database and Redis close; see HttpDrain),
 * then exit 0. Past `timeoutMs` the process exits 1 instead of hanging.
 *
 * Nest's `enableShutdownHooks` would re-raise the signal after closing (exit 143); a drain that
 * went well should end with 0.
 */
export function exitGracefullyOnSignals(app: INestApplication, timeoutMs: number): void {
  const logger = new Logger('Shutdown');
  let shuttingDown = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (shuttingDown) {
      return;
    }
    shuttingDown = true;
    logger.log(`${signal} received: draining`);
    setTimeout(() => {
      logger.error(`Shutdown took longer than ${timeoutMs} ms: exiting`);
      process.exit(1);
    }, timeoutMs).unref();
    try {
      await app.close();
      process.exit(0);
    } catch (error) {
      logger.error(error);
      process.exit(1);
    }
  };
  for (const signal of SIGNALS) {
    // `on`, not `once`: a repeated signal (systemd and the cluster primary may both send one)
    // must not fall through to Node's default handler and kill the drain.
    process.on(signal, (received) => void shutdown(received));
  }
}
