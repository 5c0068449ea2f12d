import 'reflect-metadata';
import { createApp } from './bootstrap/create-app';
import { exitOnStartupFailure, loadProcessConfig } from './bootstrap/environment';
import { exitGracefullyOnSignals } from './bootstrap/graceful-shutdown';

async function bootstrap(): Promise<void> {
  const config = loadProcessConfig();
  const app = await createApp(config);
  exitGracefullyOnSignals(app, {
    timeoutMs: config.http.shutdownTimeoutMs,
    drainDelayMs: config.http.shutdownDrainDelayMs,
  });
  await app.listen(config.http.port, config.http.host);
}

bootstrap().catch(exitOnStartupFailure);
