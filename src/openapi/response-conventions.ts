import type { OpenAPIObject } from '@nestjs/swagger';
import { METHODS } from './document-schemas';
import type {
  HeaderObject,
  OperationObject,
  ParameterObject,
  ReferenceObject,
  ResponseObject,
} from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';

/** Marks an operation whose answers the response cache keeps (`@CacheResponse`). */
export const CACHED_READ_EXTENSION = 'x-response-cache';
/** Marks an operation that also counts against the strict `auth` rate limit. */
export const AUTH_LIMIT_EXTENSION = 'x-auth-rate-limit';
/** Says whether query parameters the document does not name are refused (400) or ignored. */
export const UNKNOWN_QUERY_EXTENSION = 'x-unknown-query-parameters';

/** Liveness and scraping are never shed and never throttled (load-shedding.ts, SkipThrottle). */
const UNTHROTTLED_PATHS = new Set(['/health', '/health/ready', '/metrics']);
const NEVER_SHED_PATHS = new Set(['/health', '/metrics']);
/** Methods whose body Fastify reads (and may refuse) whether or not the route takes one. */
const BODY_METHODS = new Set<string>(['put', 'post', 'delete', 'patch']);

/** What Fastify answers while reading a body, before any route code. */
export const BODY_REFUSALS = {
  '413': 'The body is over BODY_LIMIT',
  '415': 'The body is not JSON',
} as const;
const ERROR = { $ref: '#/components/schemas/ErrorResponse' };
const header = (name: string): ReferenceObject => ({ $ref: `#/components/headers/${name}` });

const integerHeader = (description: string): HeaderObject => ({
  description,
  required: true,
  schema: { type: 'integer', format: 'int32', minimum: 0, maximum: 2_147_483_647 },
});

/** The response headers of the server, each declared once. */
const HEADERS: Record<string, HeaderObject> = {
  'X-Request-Id': {
    description: 'The request id (a well-formed incoming `X-Request-Id` is kept), also in the log',
    required: true,
    schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$', maxLength: 128 },
  },
  'X-Cache': {
    description: 'Whether the response cache answered (`HIT`) or the route did (`MISS`)',
    required: true,
    schema: { type: 'string', enum: ['HIT', 'MISS'] },
  },
  'X-Cache-Optional': {
    description: 'Sent on an error when the cache had looked the request up',
    schema: { type: 'string', enum: ['HIT', 'MISS'] },
  },
  'Retry-After': integerHeader('Seconds to wait before trying again'),
  'Retry-After-Optional': {
    ...integerHeader('Seconds to wait, when the 503 comes from load shedding'),
    required: false,
  },
  'Retry-After-auth': {
    ...integerHeader('Seconds until the `auth` limit lets login and registration through'),
    required: false,
  },
  'WWW-Authenticate': {
    description: 'The scheme that would succeed (RFC 6750)',
    required: true,
    schema: { type: 'string', enum: ['Bearer'] },
  },
  ...rateLimitHeaders('', 'the default limit, over all routes together'),
  ...rateLimitHeaders('-auth', 'the `auth` limit, over login and registration together'),
};

function rateLimitHeaders(suffix: string, which: string): Record<string, HeaderObject> {
  const headers: Record<string, HeaderObject> = {
    [`X-RateLimit-Limit${suffix}`]: integerHeader(`Requests allowed per window, by ${which}`),
    [`X-RateLimit-Remaining${suffix}`]: integerHeader(`Requests left in the window, by ${which}`),
    [`X-RateLimit-Reset${suffix}`]: integerHeader(`Seconds until the window ends, by ${which}`),
  };
  // On a 429 only the limits checked before the one that refused have been counted.
  for (const [name, definition] of Object.entries(headers)) {
    headers[`${name}-Optional`] = { ...definition, required: false };
  }
  return headers;
}

/**
 * What every route of the server shares and no decorator says per route: the headers each answer
 * carries, the 500 of the global filter, the 503 of load shedding, the closed request bodies and
 * UUID path ids of the validation pipe, and whether unknown query parameters are refused.
 */
export function withResponseConventions(document: OpenAPIObject): OpenAPIObject {
  document.components = { ...document.components, headers: HEADERS };
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (operation) {
        describeOperation(path, method, operation as ExtendedOperation);
      }
    }
  }
  closeRequestBodies(document);
  closeComponentObjects(document);
  return document;
}

type ExtendedOperation = OperationObject & Record<`x-${string}`, unknown>;

function describeOperation(path: string, method: string, operation: ExtendedOperation): void {
  const throttled = !UNTHROTTLED_PATHS.has(path);
  const cached = operation[CACHED_READ_EXTENSION] === true;
  const authLimited = operation[AUTH_LIMIT_EXTENSION] === true;
  const responses = operation.responses as Record<string, ResponseObject>;
  responses['500'] ??= { description: 'An unexpected error; details go to the log only' };
  if (!NEVER_SHED_PATHS.has(path)) {
    responses['503'] ??= { description: 'Overloaded (load shedding); retry after Retry-After' };
  }
  if (BODY_METHODS.has(method)) {
    for (const [status, description] of Object.entries(BODY_REFUSALS)) {
      responses[status] ??= { description, content: { 'application/json': { schema: ERROR } } };
    }
  }
  for (const [status, response] of Object.entries(responses)) {
    const headers: Record<string, ReferenceObject> = { 'X-Request-Id': header('X-Request-Id') };
    // The rate limits count a request before its body is read (ThrottleBeforeParsing), so 413
    // and 415 carry them; load shedding answers before both.
    if (throttled && status !== '503') {
      const optional = status === '429' || status === '500' ? '-Optional' : '';
      for (const name of ['Limit', 'Remaining', 'Reset']) {
        headers[`X-RateLimit-${name}`] = header(`X-RateLimit-${name}${optional}`);
        if (authLimited) {
          headers[`X-RateLimit-${name}-auth`] = header(`X-RateLimit-${name}-auth${optional}`);
        }
      }
    }
    if (status === '429' || status === '503') {
      // /health/ready answers 503 itself when not ready, and through load shedding with Retry-After.
      headers['Retry-After'] = header(
        path === '/health/ready' ? 'Retry-After-Optional' : 'Retry-After',
      );
    }
    if (status === '429' && authLimited) {
      headers['Retry-After-auth'] = header('Retry-After-auth');
    }
    if (status === '401') {
      headers['WWW-Authenticate'] = header('WWW-Authenticate');
    }
    if (cached && status.startsWith('2')) {
      headers['X-Cache'] = header('X-Cache');
    } else if (cached && status.startsWith('4')) {
      headers['X-Cache'] = header('X-Cache-Optional');
    }
    // A copy: Nest shares one response object between the routes of a controller.
    responses[status] = {
      ...response,
      headers,
      // Error answers come from the global filter or load shedding: always the JSON error shape.
      ...(response.content && { content: response.content }),
      ...(/^[45]/.test(status) &&
        isErrorShape(response) && { content: { 'application/json': { schema: ERROR } } }),
    };
  }
  for (const parameter of (operation.parameters ?? []) as ParameterObject[]) {
    // Every path parameter of the API is an id that ParseIdPipe checks (either letter case).
    if (parameter.in === 'path') {
      parameter.schema = { type: 'string', format: 'uuid', minLength: 36, maxLength: 36 };
    }
  }
  // The validation pipe refuses unknown fields of a query DTO; cached reads validate even an
  // empty query; other routes never look at the query string.
  const hasQuery = (operation.parameters ?? []).some((p) => (p as ParameterObject).in === 'query');
  if (throttled) {
    operation[UNKNOWN_QUERY_EXTENSION] = hasQuery || cached ? 'refused' : 'ignored';
  }
}

function isErrorShape(response: ResponseObject): boolean {
  return Object.values(response.content ?? {}).every(
    (media) => (media.schema as ReferenceObject | undefined)?.$ref === ERROR.$ref,
  );
}

/** The validation pipe refuses fields a request DTO does not declare. */
function closeRequestBodies(document: OpenAPIObject): void {
  const schemas = document.components?.schemas ?? {};
  for (const item of Object.values(document.paths)) {
    for (const method of METHODS) {
      const body = item[method]?.requestBody as
        { content?: Record<string, { schema?: ReferenceObject }> } | undefined;
      const ref = body?.content?.['application/json']?.schema?.$ref;
      const schema = ref ? schemas[ref.split('/').pop()!] : undefined;
      if (schema && !('$ref' in schema)) {
        schema.additionalProperties = false;
      }
    }
  }
}

/**
 * The DTOs of the answers are closed too: the server sends what they declare and nothing more
 * (their 2xx answers are serialized from these schemas, `compiled-responses.ts`), so a client
 * may rely on it. Objects built inline (the probes' dependency maps) keep saying what they say.
 */
function closeComponentObjects(document: OpenAPIObject): void {
  for (const schema of Object.values(document.components?.schemas ?? {})) {
    if (
      !('$ref' in schema) &&
      schema.type === 'object' &&
      schema.additionalProperties === undefined
    ) {
      schema.additionalProperties = false;
    }
  }
}
