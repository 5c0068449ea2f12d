import cluster from 'node:cluster';
import Fastify from 'fastify';
import { serveRunner } from '@bench/support/worker-protocol';
import { jsonSchemaOf } from './json-schema-of';

/** A route of the baseline: the URL Switchboard answered and the JSON it answered with. */
export interface BareRoute {
  url: string;
  body: unknown;
  /**
   * Send the answer as bytes serialized once, as a cache hit does; otherwise serialize it on
   * every request with a response schema (fast-json-stringify), as a route without a cache does.
   */
  stored?: boolean;
}

export interface BareFastifyConfig {
  port: number;
  routes: BareRoute[];
  /** >1: a node:cluster of this many workers sharing the port, as `start:cluster` does. */
  workers: number;
}

const CONFIG_VARIABLE = 'BARE_FASTIFY_CONFIG';
/** What Switchboard's cached answers carry. */
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/**
 * The HTTP baseline: bare Fastify, no logger, one GET route per path answering from a Map the
 * same JSON Switchboard answered, in the same bytes: either serialized on each request with a
 * response schema, or (`stored`) sent as the string serialized once, the fastest plain way to
 * do what a cache hit does. The cost of HTTP, routing and (unless stored) serialization on this
 * machine, with nothing of Switchboard's.
 */
async function listen(config: BareFastifyConfig): Promise<void> {
  const app = Fastify({ logger: false });
  const answers = new Map(
    config.routes.map((route) => [
      route.url,
      route.stored ? JSON.stringify(route.body) : route.body,
    ]),
  );
  for (const path of new Set(config.routes.map((route) => route.url.split('?')[0]))) {
    const sample = config.routes.find((route) => route.url.split('?')[0] === path);
    if (sample?.stored) {
      app.get(path, (request, reply) =>
        reply.type(JSON_CONTENT_TYPE).send(answers.get(request.url)),
      );
    } else {
      app.get(path, { schema: { response: { 200: jsonSchemaOf(sample?.body) } } }, (request) =>
        answers.get(request.url),
      );
    }
  }
  await app.listen({ port: config.port, host: '127.0.0.1' });
}

async function listenAsCluster(config: BareFastifyConfig): Promise<void> {
  let listening = 0;
  await new Promise<void>((resolve) => {
    cluster.on('listening', () => ++listening === config.workers && resolve());
    for (let worker = 0; worker < config.workers; worker++) {
      cluster.fork({ [CONFIG_VARIABLE]: JSON.stringify(config) });
    }
  });
}

if (cluster.isWorker) {
  void listen(JSON.parse(process.env[CONFIG_VARIABLE] ?? '{}') as BareFastifyConfig);
} else {
  // Round-robin, as node:cluster does for `start:cluster`.
  cluster.schedulingPolicy = cluster.SCHED_RR;
  serveRunner({
    listen: (config: BareFastifyConfig) =>
      config.workers > 1 ? listenAsCluster(config) : listen(config),
  });
}
