import { ModulesContainer, NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { AppConfig } from '@config';
import { AppModule } from '@app/app.module';
import { RealtimeWsAdapter } from '@app/realtime/realtime-ws.adapter';
import { createOpenApiDocument, serveOpenApiDocument } from '@app/openapi/openapi-document';
import { serveAsyncApiDocument } from '@app/asyncapi/asyncapi-document';
import { CONSOLE_PAGE_ROUTES } from '@app/console/console-page.controller';
import { compileResponsesFromDocument } from '@app/openapi/compiled-responses';
import { CompiledRequestSchemas } from '@app/common/validation/compiled-request-schemas';
import { registerJsonBodyParser } from '@app/common/validation/json-body-parser';
import { registerCanonicalPathIds } from '@app/common/validation/canonical-id';
import { registerLoadShedding } from './load-shedding';
import { nameRouteHandlers, routeHandlersOf } from './route-handlers';
import { requestIdFor } from './request-id';
import { registerResponseHeaders } from './response-headers';

/** Routes that stay at the root, outside the `/api` prefix. */
export const ROOT_ROUTES = [
  'health',
  'health/ready',
  'metrics',
  'docs',
  'openapi.json',
  'docs/realtime',
  'asyncapi.json',
  ...CONSOLE_PAGE_ROUTES,
];

export interface CreateAppOptions {
  /** Keep Nest's start-up lines until `app.flushLogs()`, so that `main.ts` can speak first. */
  holdStartupLogs?: boolean;
}

/**
 * Builds the application exactly as production runs it, without listening: `main.ts`, the e2e
 * tests and the OpenAPI export all start here.
 */
export async function createApp(
  config: AppConfig,
  options: CreateAppOptions = {},
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.http.bodyLimit,
    trustProxy: config.http.trustProxy,
    genReqId: requestIdFor,
    // On shutdown, idle keep-alive sockets are closed at once; busy ones finish their request.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    bufferLogs: true,
    autoFlushLogs: !options.holdStartupLogs,
  });
  app.useLogger(app.get(Logger));
  app.useWebSocketAdapter(new RealtimeWsAdapter(app, config));
  app.setGlobalPrefix('api', { exclude: ROOT_ROUTES });
  app.enableCors({
    // No origins configured: no CORS headers, so only same-origin pages and non-browser clients.
    origin: config.http.corsOrigins.length > 0 ? config.http.corsOrigins : false,
    credentials: true,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
    exposedHeaders: ['Retry-After', 'X-Request-Id'],
  });
  registerJsonBodyParser(app, config.http.jsonMaxDepth);
  registerCanonicalPathIds(app);
  // Before load shedding: its 503, sent from an earlier hook, must carry the headers too.
  registerResponseHeaders(app);
  await registerLoadShedding(app, config);
  // The document is also what the server enforces: request DTOs and answers compiled from it.
  const document = createOpenApiDocument(app);
  const handlers = routeHandlersOf(app.get(ModulesContainer));
  app.get(CompiledRequestSchemas).compile(document, handlers);
  // Rate limits count a request before its body is read (ThrottleBeforeParsing).
  nameRouteHandlers(handlers);
  compileResponsesFromDocument(app, document);
  if (config.http.docs) {
    serveOpenApiDocument(app, document);
    serveAsyncApiDocument(app);
  }
  return app;
}
