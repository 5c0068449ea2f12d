import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { MAX_ARRAY_ITEMS } from '@app/common/validation/hostile-input';
import { METHODS } from './document-schemas';
import { withResponseConventions } from './response-conventions';

export const OPENAPI_JSON_PATH = 'openapi.json';
export const DOCS_PATH = 'docs';
/** The version of the REST contract; raise it when a change breaks clients. */
export const API_VERSION = '1.0.0';

/**
 * The OpenAPI document of the running code. The operationId of a route is its handler's name
 * (handler names are unique and verb-first), which becomes the generated client's function name.
 */
export function createOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Switchboard')
    .setDescription(
      'REST API of Switchboard: accounts, rooms, messages and private messages. Every string ' +
        'field refuses NUL characters and unpaired surrogates, and no request list may hold more ' +
        `than ${MAX_ARRAY_ITEMS} items (400). \`x-unknown-query-parameters\` tells whether an operation refuses ` +
        'query parameters it does not name (400) or ignores them.',
    )
    .setVersion(API_VERSION)
    .setLicense('MIT', 'https://opensource.org/licenses/MIT')
    .addServer('/', 'The server that serves this document, in production or local development', {})
    .addBearerAuth({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description:
        'An HS256 access token from login, registration or refresh, handled per RFC8725 (JWT best practices): ' +
        'the algorithm is fixed, `exp` is checked, and a token of an ended login is refused.',
    })
    .addTag('auth', 'Accounts and logins')
    .addTag('users', 'Profiles and private messages')
    .addTag('rooms', 'Rooms and their members')
    .addTag('messages', 'Room history and posting')
    .addTag('health', 'Probes and metrics for load balancers and scrapers; not in the client')
    .build();
  // Public: clients on the internet call it (OWASP API9, inventory).
  config.servers?.forEach((server) => Object.assign(server, { 'x-internal': false }));
  const document = SwaggerModule.createDocument(app, config, {
    operationIdFactory: (_controllerKey, methodKey) => methodKey,
  });
  return withResponseConventions(withExplicitPublicOperations(document));
}

/**
 * Every route needs a bearer token unless it is `@Public()`, and `@Authenticated()` documents
 * the token; so an operation without `security` is public, and says so (`security: []`).
 */
function withExplicitPublicOperations(document: OpenAPIObject): OpenAPIObject {
  for (const path of Object.values(document.paths)) {
    for (const method of METHODS) {
      const operation = path[method];
      if (operation && !operation.security) {
        operation.security = [];
      }
    }
  }
  return document;
}

/** Swagger UI at /docs and the document at /openapi.json, outside the /api prefix. */
export function serveOpenApiDocument(app: INestApplication, document: OpenAPIObject): void {
  SwaggerModule.setup(DOCS_PATH, app, document, {
    jsonDocumentUrl: OPENAPI_JSON_PATH,
    useGlobalPrefix: false,
    raw: ['json'],
  });
}

/** The document with every object's keys sorted, so that a diff of the committed file reads well. */
export function sortKeys<T>(value: T): T {
  if (Array.isArray(value)) {
    return value.map(sortKeys) as T;
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
    ) as T;
  }
  return value;
}
