import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { OpenAPIObject } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { InlineSchema, operationsOf, successSchemasOf } from './document-schemas';

/**
 * Every route's 2xx answers are serialized by fast-json-stringify from the document's response
 * schemas (Fastify compiles a route's `schema.response` once, when the route is registered):
 * what the document says a route answers is what it can answer (a closed object sends its
 * declared properties only), and a page of 50 messages costs a compiled function instead of
 * `JSON.stringify`. Must run before `app.init()` registers the
 * routes.
 */
export function compileResponsesFromDocument(
  app: NestFastifyApplication,
  document: OpenAPIObject,
): void {
  const schemas = new Map<string, Record<string, unknown>>();
  for (const { method, url, operation } of operationsOf(document).values()) {
    const success = Object.fromEntries(
      Object.entries(successSchemasOf(document, operation)).map(([status, schema]) => [
        status,
        openWhereUnsaid(schema),
      ]),
    );
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
 * The schema with `additionalProperties: true` on every object that does not say: JSON Schema
 * lets such an object carry more properties, where fast-json-stringify would drop them. Objects
 * the document closes (`additionalProperties: false`) send their declared properties only.
 */
function openWhereUnsaid(schema: InlineSchema): InlineSchema {
  const opened: InlineSchema = Object.fromEntries(
    Object.entries(schema).map(([keyword, value]) => [keyword, openValue(value)]),
  );
  const isObject = opened.type === 'object' || opened.properties !== undefined;
  if (isObject && !('additionalProperties' in opened)) {
    opened.additionalProperties = true;
  }
  return opened;
}

function openValue(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(openValue);
  }
  return value !== null && typeof value === 'object'
    ? openWhereUnsaid(value as InlineSchema)
    : value;
}

/**
 * The JSON text the route would send for this answer, with its compiled response schema: the
 * response cache stores exactly what a miss sends.
 */
export function serializeLikeTheRoute(answer: unknown, reply: unknown): string {
  // A string for JSON answers: Fastify's serializers return what they were compiled to write.
  return (reply as FastifyReply).serialize(answer) as string;
}
