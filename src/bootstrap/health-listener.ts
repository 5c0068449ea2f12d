import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';

/** What the probe port serves: the probes and the scrape, nothing of the API. */
const PROBE_PATHS = new Set(['/health', '/health/ready', '/metrics']);

/**
 * Serves /health, /health/ready and /metrics on a port of their own (HEALTH_PORT), through the
 * app's own routes (same guards, same answers). Why a second port: libuv accepts one connection
 * per turn of the event loop, so while clients reconnect by the thousand, the main port's listen
 * queue holds seconds of them, and a balancer's probe waiting behind them times out on an
 * instance that is working. A second listener has its own queue, taken one per turn as well.
 */
export async function listenForProbes(
  app: NestFastifyApplication,
  port: number,
  host: string,
): Promise<Server> {
  const appServer = app.getHttpAdapter().getInstance().server;
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? '').split('?', 1)[0];
    if (!PROBE_PATHS.has(path)) {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          statusCode: 404,
          error: 'Not Found',
          message: `Only ${[...PROBE_PATHS].join(', ')} are served on this port`,
        }),
      );
      return;
    }
    // Fastify's own request handler, as if the request had come in on the main port.
    appServer.emit('request', request, response);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Nothing to drain: the process exits at the end of its shutdown, probes or not.
  server.unref();
  return server;
}
