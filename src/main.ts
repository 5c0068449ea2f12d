import 'reflect-metadata';
import { Logger } from 'nestjs-pino';
import { AcceptDescriptors } from './bootstrap/accept-descriptors';
import { createApp } from './bootstrap/create-app';
import { exitOnStartupFailure, loadProcessConfig } from './bootstrap/environment';
import { exitGracefullyOnSignals } from './bootstrap/graceful-shutdown';
import { listenForProbes } from './bootstrap/health-listener';
import { startupSummary } from './bootstrap/startup-summary';

async function bootstrap(): Promise<void> {
  const config = loadProcessConfig();
  const app = await createApp(config, { holdStartupLogs: true });
  exitGracefullyOnSignals(app, {
    timeoutMs: config.http.shutdownTimeoutMs,
    drainDelayMs: config.http.shutdownDrainDelayMs,
  });
  try {
    await app.listen({
      port: config.http.port,
      host: config.http.host,
      backlog: config.http.listenBacklog,
    });
    if (config.http.healthPort !== undefined) {
      await listenForProbes(app, config.http.healthPort, config.http.host);
    }
    // The first line says where everything is; Nest's start-up lines follow it.
    app.get(Logger).log(startupSummary(config, await app.getUrl()), 'Startup');
  } finally {
    app.flushLogs();
  }
  // Serving already: the extra descriptors (a helper process, ~0.1 s) only raise the intake.
  await app
    .get(AcceptDescriptors)
    .open(app.getHttpServer(), config.http.acceptsPerTurn, config.http.listenBacklog);
}

bootstrap().catch(exitOnStartupFailure);
