import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { OpenAPIObject } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { operationsOf, successSchemasOf } from './document-schemas';

/**
 * Every route's 2xx answers are serialized by fast-json-stringify from the document's response
 * schemas (Fastify compiles a route's `schema.response` once, when the route is registered):
 * what the document says a route answers is what it can answer, and a page of 50 messages costs
 * a compiled function instead of `JSON.stringify`. Must run before `app.init()` registers the
 * routes.
 */
export function compileResponsesFromDocument(
  app: NestFastifyApplication,
  document: OpenAPIObject,
): void {
  const schemas = new Map<string, Record<string, unknown>>();
  for (const { method, url, operation } of operationsOf(document).values()) {
    const success = successSchemasOf(document, operation);
    if (Object.keys(success).length > 0) {
      schemas.set(`${method} ${url}`, success);
    }
  }
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRoute', (route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      const response = methods.length === 1 ? schemas.get(`${methods[0]} ${route.url}`) : undefined;
      if (response && !route.schema?.response) {
        route.schema = { ...route.schema, response };
      }
    });
}

/**
 * The JSON text the route would send for this answer, with its compiled response schema: the
 * response cache stores exactly what a miss sends.
 */
export function serializeLikeTheRoute(answer: unknown, reply: unknown): string {
  // A string for JSON answers: Fastify's serializers return what they were compiled to write.
  return (reply as FastifyReply).serialize(answer) as string;
}
