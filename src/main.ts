import 'reflect-metadata';
import { createApp } from './bootstrap/create-app';
import { exitOnStartupFailure, loadProcessConfig } from './bootstrap/environment';
import { exitGracefullyOnSignals } from './bootstrap/graceful-shutdown';

async function bootstrap(): Promise<void> {
  const config = loadProcessConfig();
  const app = await createApp(config);
  exitGracefullyOnSignals(app, config.http.shutdownTimeoutMs);
  await app.listen(config.http.port, config.http.host);
}

bootstrap().catch(exitOnStartupFailure);
