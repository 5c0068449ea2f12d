import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  CLIENT_FRAME_SCHEMAS,
  CLOSE_CODES,
  ClientEvent,
  CloseCode,
  frameSchema,
  JsonSchema,
  MAX_REF_LENGTH,
  REALTIME_ERROR_CODES,
  SERVER_EVENT_SCHEMAS,
  ServerEvent,
} from '@libs/protocol';
import { sortKeys } from '@app/openapi/openapi-document';
import { renderAsyncApiPage } from './asyncapi-page';

export const ASYNCAPI_JSON_PATH = 'asyncapi.json';
/** The rendered document, beside Swagger UI at /docs. */
export const REALTIME_DOCS_PATH = 'docs/realtime';
/** The version of the WebSocket protocol; raise it when a change breaks clients. */
export const PROTOCOL_VERSION = '1.0.0';

const CHANNEL = 'ws';

/** The AsyncAPI 3.0 document, kept to what the page and the frame checks read. */
export interface AsyncApiDocument {
  asyncapi: '3.0.0';
  info: { title: string; version: string; description: string; license: object };
  defaultContentType: string;
  servers: Record<string, object>;
  channels: Record<string, AsyncApiChannel>;
  operations: Record<string, AsyncApiOperation>;
  components: {
    messages: Record<string, AsyncApiMessage>;
    securitySchemes: Record<string, object>;
  };
}

export interface AsyncApiChannel {
  address: string;
  title: string;
  description: string;
  messages: Record<string, { $ref: string }>;
  bindings: object;
}

export interface AsyncApiMessage {
  name: string;
  title: string;
  summary: string;
  description?: string;
  contentType: string;
  payload: JsonSchema;
}

export interface AsyncApiOperation {
  action: 'send' | 'receive';
  channel: { $ref: string };
  summary: string;
  messages: { $ref: string }[];
  reply?: { channel: { $ref: string }; messages: { $ref: string }[] };
}

/** The key of an event's message: client and server both have a `read` and a `typing`. */
export function messageKey(direction: 'client' | 'server', event: string): string {
  return `${direction}-${event}`;
}

/**
 * The WebSocket protocol as an AsyncAPI 3 document, from the schemas in libs/protocol. It
 * describes the server: it receives the client frames and sends the events.
 */
export function createAsyncApiDocument(): AsyncApiDocument {
  const messages: Record<string, AsyncApiMessage> = {};
  const operations: Record<string, AsyncApiOperation> = {};
  const channel = { $ref: `#/channels/${CHANNEL}` };
  const inChannel = (key: string) => ({ $ref: `#/channels/${CHANNEL}/messages/${key}` });

  for (const event of Object.keys(CLIENT_FRAME_SCHEMAS) as ClientEvent[]) {
    const { summary, data, answer } = CLIENT_FRAME_SCHEMAS[event];
    const key = messageKey('client', event);
    messages[key] = message(event, summary, frameSchema(event, data));
    operations[`receive${capitalized(event)}`] = {
      action: 'receive',
      channel,
      summary,
      messages: [inChannel(key)],
      ...(answer && {
        reply: {
          channel,
          messages: [
            inChannel(messageKey('server', answer)),
            inChannel(messageKey('server', 'error')),
          ],
        },
      }),
    };
  }
  for (const event of Object.keys(SERVER_EVENT_SCHEMAS) as ServerEvent[]) {
    const { summary, data } = SERVER_EVENT_SCHEMAS[event];
    const key = messageKey('server', event);
    messages[key] = message(event, summary, frameSchema(event, data));
    operations[`send${capitalized(event)}`] = {
      action: 'send',
      channel,
      summary,
      messages: [inChannel(key)],
    };
  }
  messages[messageKey('server', 'error')].description = errorCodesTable();

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Switchboard WebSocket protocol',
      version: PROTOCOL_VERSION,
      description:
        'Real-time messaging at `/ws`: rooms, private messages, presence, read positions, typing, ' +
        'and edits and deletes as entries of the room sequence. This document describes the ' +
        'server: it receives the client frames (`receive` operations, answered by their `reply`) ' +
        'and sends the events (`send` operations). Every string field refuses NUL characters and ' +
        'unpaired surrogates (`error invalid_data`). The REST API is described by /openapi.json.',
      license: { name: 'MIT', url: 'https://opensource.org/licenses/MIT' },
    },
    defaultContentType: 'application/json',
    servers: {
      switchboard: {
        host: '{host}',
        protocol: 'ws',
        description: 'The server that serves this document (`wss` behind TLS).',
        variables: {
          host: { default: 'localhost:3000', description: 'Host and port of the server.' },
        },
        security: [
          { $ref: '#/components/securitySchemes/bearer' },
          { $ref: '#/components/securitySchemes/queryToken' },
        ],
      },
    },
    channels: {
      [CHANNEL]: {
        address: '/ws',
        title: 'The WebSocket connection',
        description: channelDescription(),
        messages: Object.fromEntries(
          Object.keys(messages).map((key) => [key, { $ref: `#/components/messages/${key}` }]),
        ),
        bindings: {
          ws: {
            method: 'GET',
            headers: {
              type: 'object',
              properties: {
                Authorization: {
                  type: 'string',
                  pattern: '^Bearer ',
                  description: 'The access token.',
                },
                Origin: {
                  type: 'string',
                  description:
                    "Sent by browsers: the server's own origin or one of CORS_ORIGINS, else 403.",
                },
              },
            },
            query: {
              type: 'object',
              properties: {
                token: {
                  type: 'string',
                  description: 'The access token, for browsers (no headers).',
                },
              },
            },
            bindingVersion: '0.1.0',
          },
        },
      },
    },
    operations,
    components: {
      messages,
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'An access token from login, registration or refresh, on the upgrade request.',
        },
        queryToken: {
          type: 'httpApiKey',
          in: 'query',
          name: 'token',
          description: 'The same access token as `?token=`, for browsers. Never logged.',
        },
      },
    },
  };
}

function message(event: string, summary: string, payload: JsonSchema): AsyncApiMessage {
  return { name: event, title: event, summary, contentType: 'application/json', payload };
}

function capitalized(event: string): string {
  return event.charAt(0).toUpperCase() + event.slice(1);
}

function channelDescription(): string {
  const closeCodes = (Object.keys(CloseCode) as (keyof typeof CloseCode)[])
    .map((name) => `| ${CloseCode[name]} | ${CLOSE_CODES[name]} |`)
    .join('\n');
  return [
    'Authenticated at the upgrade: `Authorization: Bearer <token>`, or `?token=<token>` for ' +
      'browsers. A bad or missing token gets HTTP 401 and no upgrade; an `Origin` that is not ' +
      'allowed 403; too many connection attempts from one address 429, and an instance that is ' +
      'draining, saturated or full 503, both with `Retry-After`.',
    '',
    'Every frame is JSON text `{"event": "…", "data": {…}, "ref": "…"}`. `ref` is optional, any ' +
      `string of at most ${MAX_REF_LENGTH} characters: the answer to the frame (or its \`error\`) ` +
      'carries the same `ref`. A refused frame gets `error` and the connection stays open; ' +
      'refusals that repeat close it with 1008. The server pings idle connections and drops those ' +
      'that do not answer.',
    '',
    'Close codes:',
    '',
    '| code | why |',
    '| --- | --- |',
    closeCodes,
  ].join('\n');
}

function errorCodesTable(): string {
  const rows = Object.entries(REALTIME_ERROR_CODES).map(
    ([code, meaning]) => `| \`${code}\` | ${meaning} |`,
  );
  return ['Error codes:', '', '| code | meaning |', '| --- | --- |', ...rows].join('\n');
}

/**
 * The document at /asyncapi.json and its page at /docs/realtime, outside the /api prefix and the
 * OpenAPI document, unauthenticated like /openapi.json. Both are built once, here.
 */
export function serveAsyncApiDocument(app: NestFastifyApplication): void {
  const document = createAsyncApiDocument();
  const json = JSON.stringify(sortKeys(document));
  const page = renderAsyncApiPage(document);
  const fastify = app.getHttpAdapter().getInstance();
  fastify.get(`/${ASYNCAPI_JSON_PATH}`, (_request, reply) =>
    reply.type('application/json; charset=utf-8').send(json),
  );
  fastify.get(`/${REALTIME_DOCS_PATH}`, (_request, reply) =>
    reply
      .header('content-security-policy', page.contentSecurityPolicy)
      .type('text/html; charset=utf-8')
      .send(page.html),
  );
}
