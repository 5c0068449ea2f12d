import { INestApplication, Logger } from '@nestjs/common';

const SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

/**
 * On SIGTERM or SIGINT: stop accepting connections, let in-flight requests finish, close the
 * modules (database last), then exit 0. Past `timeoutMs` the process exits 1 instead of hanging.
 *
 * Nest's own `enableShutdownHooks` closes the modules before the HTTP server and then re-raises
 * the signal (exit 143); a load balancer's drain wants the opposite order and a clean exit.
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
      await app.getHttpAdapter().close();
      await app.close();
      process.exit(0);
    } catch (error) {
      logger.error(error);
      process.exit(1);
    }
  };
  for (const signal of SIGNALS) {
    process.once(signal, (received) => void shutdown(received));
  }
}
