import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { CloseCode } from '@libs/protocol';
import { DrainState } from '@app/health/drain-state';
import { ConnectionRegistry } from '@app/realtime/connection-registry';
import { UpgradeAuthenticator } from '@app/realtime/upgrade-authenticator';
import { HttpDrain } from './http-drain';
import { drainThenClose, ShutdownSteps } from './shutdown-sequence';

/** Idle keep-alive connections get this long to carry one last request before they are closed. */
const IDLE_KEEP_ALIVE_GRACE_MS = 1000;
/** How often the drain looks whether the WebSockets it closed are gone. */
const SOCKET_POLL_MS = 20;

export interface ShutdownOptions {
  /** The whole shutdown's limit: past it the process exits 1. */
  timeoutMs: number;
  /** SIGTERM only: how long the server serves on while readiness answers 503. */
  drainDelayMs: number;
}

/**
 * On SIGTERM or SIGINT: drain (see `drainThenClose`), then exit 0. SIGINT (Ctrl-C at a terminal)
 * skips the drain delay: no balancer is waiting for readiness there. Past `timeoutMs` the
 * process exits 1 instead of hanging.
 *
 * Nest's `enableShutdownHooks` would close the modules (Redis, the database) while requests are
 * still in flight, and re-raise the signal (exit 143); a drain that went well should end with 0.
 */
export function exitGracefullyOnSignals(
  app: NestFastifyApplication,
  options: ShutdownOptions,
): void {
  const logger = new Logger('Shutdown');
  let shuttingDown = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (shuttingDown) {
      return;
    }
    shuttingDown = true;
    logger.log(`${signal} received: draining`);
    setTimeout(() => {
      logger.error(`Shutdown took longer than ${options.timeoutMs} ms: exiting`);
      process.exit(1);
    }, options.timeoutMs).unref();
    try {
      await drainThenClose(
        applicationSteps(app),
        {
          drainDelayMs: signal === 'SIGTERM' ? options.drainDelayMs : 0,
          deadline: Date.now() + options.timeoutMs,
        },
        (message) => logger.log(message),
      );
      process.exit(0);
    } catch (error) {
      logger.error(error);
      process.exit(1);
    }
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    // `on`, not `once`: a repeated signal (systemd and the cluster primary may both send one)
    // must not fall through to Node's default handler and kill the drain.
    process.on(signal, (received) => void shutdown(received));
  }
}

function applicationSteps(app: NestFastifyApplication): ShutdownSteps {
  const http = app.get(HttpDrain);
  const sockets = app.get(ConnectionRegistry);
  const upgrades = app.get(UpgradeAuthenticator);
  // Each socket leaves the registry once its closing handshake is done (or it is cut off).
  const socketsGone = async (deadline: number) => {
    while (sockets.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, SOCKET_POLL_MS));
    }
    return sockets.size;
  };
  return {
    beginDrain: () => app.get(DrainState).begin(),
    stopAccepting: () => {
      // An upgrade may still come on an open keep-alive connection, or finish its verification
      // now: it gets 503, not a socket that the next step would have to close again.
      upgrades.stopAccepting();
      http.stopAccepting();
    },
    finishHttp: (deadline) => http.finish(IDLE_KEEP_ALIVE_GRACE_MS, deadline),
    closeWebSockets: (deadline) => {
      sockets.closeAll(CloseCode.GoingAway, 'Server shutting down');
      return socketsGone(deadline);
    },
    terminateWebSockets: (deadline) => {
      sockets.terminateAll();
      return socketsGone(deadline);
    },
    closeModules: () => app.close(),
  };
}
