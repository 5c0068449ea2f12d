import {
  ClientEvent,
  ClientEventMap,
  CloseCode,
  MAX_REF_LENGTH,
  PresenceStatus,
  RealtimeErrorCode,
  RealtimeMessage,
  RoomEventKind,
  ServerEvent,
  ServerEventMap,
  TYPING_EXPIRES_MS,
  TYPING_RELAY_INTERVAL_MS,
} from './realtime-protocol';
import {
  ACCESS_TOKEN_MAX_LENGTH,
  CLIENT_MESSAGE_ID_MAX_LENGTH,
  MESSAGE_BODY_MAX_LENGTH,
  SYNC_DEFAULT_LIMIT,
  SYNC_MAX_LIMIT,
} from './realtime-limits';
import {
  FleetView,
  INSTANCE_ID_MAX_LENGTH,
  InstanceFigures,
  MAX_FLEET_INSTANCES,
} from './console-protocol';

// The protocol's frames as JSON Schemas (draft-07, the dialect of AsyncAPI 3 schemas): the AsyncAPI
// document is built from them, and the e2e suites check every frame they send and receive with them.

/** A JSON Schema as plain data. `T` is the payload type it describes (compile-time only). */
export type JsonSchema<T = unknown> = { readonly [keyword: string]: unknown } & {
  readonly [payloadType]?: T;
};
declare const payloadType: unique symbol;

/** A frame's `data`, with what the AsyncAPI document says about its event. */
export interface EventSchema<T> {
  /** One line: what the frame does or means. */
  summary: string;
  data: JsonSchema<T>;
}

export interface ClientFrameSchema<E extends ClientEvent> extends EventSchema<ClientEventMap[E]> {
  /** The event that answers it (with the frame's `ref`); `error` may answer any frame instead. */
  answer?: ServerEvent;
}

type OptionalKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? K : never }[keyof T];

/**
 * An object of exactly `T`'s fields: the compiler fails when the type gains or loses a field the
 * schema does not, and when an optional field is not named optional.
 */
function objectSchema<T>(
  properties: { readonly [K in keyof T]-?: JsonSchema },
  ...[optional]: [OptionalKeys<T>] extends [never] ? [] : [Record<OptionalKeys<T>, true>]
): JsonSchema<T> {
  const optionalKeys = Object.keys(optional ?? {});
  return {
    type: 'object',
    properties,
    required: Object.keys(properties).filter((key) => !optionalKeys.includes(key)),
    additionalProperties: false,
  };
}

const EMPTY_OBJECT: JsonSchema<Record<string, never>> = {
  type: 'object',
  properties: {},
  additionalProperties: false,
};

/** What the server accepts as an id (`@IsUUID()`): a UUID of versions 1 to 8, nil or max, either case. */
const ID_ACCEPTED: JsonSchema<string> = {
  type: 'string',
  format: 'uuid',
  pattern:
    '^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}' +
    '|00000000-0000-0000-0000-000000000000|[fF]{8}-[fF]{4}-[fF]{4}-[fF]{4}-[fF]{12})$',
  description: 'A UUID, in either letter case; the server answers with its lower-case form.',
};

/** An id as the server writes it: canonical, lower case. */
const ID: JsonSchema<string> = {
  type: 'string',
  format: 'uuid',
  pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$',
};

const SEQ: JsonSchema<number> = { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER };
const SEQ_OR_ZERO: JsonSchema<number> = { ...SEQ, minimum: 0 };
/** `Date#toISOString()`. */
const TIMESTAMP: JsonSchema<string> = { type: 'string', format: 'date-time', maxLength: 24 };

function nullable(schema: JsonSchema): JsonSchema {
  return { ...schema, type: [schema.type, 'null'] };
}

const BODY: JsonSchema<string> = {
  type: 'string',
  minLength: 1,
  maxLength: MESSAGE_BODY_MAX_LENGTH,
  description: `1 to ${MESSAGE_BODY_MAX_LENGTH} characters.`,
};

const CLIENT_MSG_ID: JsonSchema<string> = {
  type: 'string',
  minLength: 1,
  maxLength: CLIENT_MESSAGE_ID_MAX_LENGTH,
  description:
    `A key the client picks, 1 to ${CLIENT_MESSAGE_ID_MAX_LENGTH} characters, to make a retry ` +
    'safe: the same key from the same sender in the same room stores one entry, and a retry ' +
    'gets its `ack` again.',
};

/** What each error code means: `error {code}` takes one of these. */
export const REALTIME_ERROR_CODES: Readonly<Record<RealtimeErrorCode, string>> = {
  bad_json: 'The frame is not valid JSON.',
  bad_frame:
    'The frame is not `{event, data, ref?}`: binary, not an object, `event` not a string, ' +
    `or \`ref\` not a string of at most ${MAX_REF_LENGTH} characters.`,
  nesting_too_deep: 'The frame nests objects and arrays deeper than the server parses.',
  unknown_event: 'No such client event.',
  invalid_data: "`data` breaks its event's schema; the message names each bad field.",
  not_found: 'No such room, user or message, or one the caller may not see.',
  not_member: 'The caller is not a member of the room.',
  forbidden: "Not the caller's to do (another user's token, message or room).",
  rate_limited: 'Too many frames; slow down. Repeated, the connection is closed with 1008.',
  conflict: 'The change conflicts with the current state of what it changes.',
  unauthenticated: 'The token is invalid or expired, or the connection is closing.',
  unavailable: 'A service the server needs is down; retry later.',
  internal: "The server's fault; it never counts toward 1008.",
};

/** Why the server closes a connection, by code (`CloseCode`). */
export const CLOSE_CODES: Readonly<Record<keyof typeof CloseCode, string>> = {
  GoingAway: 'The server is shutting down: reconnect (to another instance).',
  PolicyViolation:
    'Repeated abuse: too many refused frames, or a rate limit exceeded again and again; or an ' +
    'operator closed the connection from the console (reason `Closed by an operator`).',
  MessageTooBig: 'A frame over WS_MAX_PAYLOAD bytes (65536 by default).',
  TryAgainLater: 'The client read too slowly: over WS_MAX_BUFFERED bytes were waiting for it.',
  TokenExpired: 'The access token expired (or its login ended) and no fresh one came with `auth`.',
};

const ROOM_FRAME = objectSchema<ClientEventMap['join']>({ roomId: ID_ACCEPTED });

/** The frames a client sends, by event. */
export const CLIENT_FRAME_SCHEMAS: { readonly [E in ClientEvent]: ClientFrameSchema<E> } = {
  join: {
    summary:
      'Receive the live events of a room from now on; joins a public room as a member first ' +
      '(a private room needs membership).',
    data: ROOM_FRAME,
    answer: 'joined',
  },
  leave: {
    summary: 'No more live events of the room on this connection; the membership stays.',
    data: ROOM_FRAME,
    answer: 'left',
  },
  send: {
    summary:
      'Post a message, as `POST /api/rooms/:id/messages`: answered after the commit with its ' +
      '`id` and `seq`.',
    data: objectSchema<ClientEventMap['send']>(
      { roomId: ID_ACCEPTED, body: BODY, clientMsgId: CLIENT_MSG_ID },
      { clientMsgId: true },
    ),
    answer: 'ack',
  },
  dm: {
    summary:
      'A private message, as `POST /api/users/:id/messages`: through the direct room of the two ' +
      'users, whose id is in the `ack`.',
    data: objectSchema<ClientEventMap['dm']>(
      { userId: ID_ACCEPTED, body: BODY, clientMsgId: CLIENT_MSG_ID },
      { clientMsgId: true },
    ),
    answer: 'ack',
  },
  sync: {
    summary:
      "The room's entries after `afterSeq`, oldest first: how a client fills a gap or catches up.",
    data: objectSchema<ClientEventMap['sync']>(
      {
        roomId: ID_ACCEPTED,
        afterSeq: { type: 'integer', minimum: 0 },
        limit: {
          type: 'integer',
          minimum: 1,
          maximum: SYNC_MAX_LIMIT,
          default: SYNC_DEFAULT_LIMIT,
        },
      },
      { limit: true },
    ),
    answer: 'history',
  },
  auth: {
    summary: 'A fresh access token for this connection, before the current one expires (4401).',
    data: objectSchema<ClientEventMap['auth']>({
      token: { type: 'string', minLength: 1, maxLength: ACCESS_TOKEN_MAX_LENGTH },
    }),
    answer: 'authed',
  },
  ping: { summary: 'An application-level ping.', data: EMPTY_OBJECT, answer: 'pong' },
  watchFleet: {
    summary:
      "Operators only (CONSOLE_USERS): the fleet's figures as `fleet`, at once and after every " +
      "instance's report; `forbidden` for anyone else, `not_found` while the console is off.",
    data: EMPTY_OBJECT,
    answer: 'fleet',
  },
  unwatchFleet: { summary: 'No more `fleet` frames on this connection.', data: EMPTY_OBJECT },
  read: {
    summary:
      'The caller has read the room up to `seq` (clamped to its `lastSeq`); the position only ' +
      "moves forward, and the other members' connections get `read`. No answer unless refused.",
    data: objectSchema<ClientEventMap['read']>({ roomId: ID_ACCEPTED, seq: SEQ_OR_ZERO }),
  },
  typing: {
    summary:
      'The caller is typing in a room it joined on this connection: the other members get ' +
      `\`typing\`, at most one per connection and room every ${TYPING_RELAY_INTERVAL_MS} ms ` +
      '(the rest are dropped). Never stored; no answer unless refused.',
    data: ROOM_FRAME,
  },
  edit: {
    summary:
      'The sender edits a message, as `PATCH /api/rooms/:id/messages/:messageId`: an event with ' +
      "the room's next `seq`, answered with its `ack`.",
    data: objectSchema<ClientEventMap['edit']>(
      { roomId: ID_ACCEPTED, messageId: ID_ACCEPTED, body: BODY, clientMsgId: CLIENT_MSG_ID },
      { clientMsgId: true },
    ),
    answer: 'ack',
  },
  delete: {
    summary:
      "The sender or the room's owner deletes a message, as `DELETE " +
      "/api/rooms/:id/messages/:messageId`: a tombstone event with the room's next `seq`, the " +
      'body erased, answered with its `ack`.',
    data: objectSchema<ClientEventMap['delete']>({
      roomId: ID_ACCEPTED,
      messageId: ID_ACCEPTED,
    }),
    answer: 'ack',
  },
};

const ENTRY_FIELDS = {
  id: ID,
  roomId: ID,
  seq: {
    ...SEQ,
    description: '1, 2, 3 … per room, with no gap: a jump means entries were missed.',
  },
  senderId: ID,
  clientMsgId: nullable(CLIENT_MSG_ID),
  createdAt: TIMESTAMP,
};

function entryKind(kind: RoomEventKind): JsonSchema<RoomEventKind> {
  return { type: 'string', const: kind };
}

/** A message: its current text, or a tombstone (`body` erased, `deletedAt` set). */
const MESSAGE_ENTRY: JsonSchema<RealtimeMessage> = {
  ...objectSchema<RealtimeMessage>({
    ...ENTRY_FIELDS,
    body: { type: 'string', maxLength: MESSAGE_BODY_MAX_LENGTH },
    kind: entryKind('message'),
    messageId: { type: 'null' },
    editedAt: nullable(TIMESTAMP),
    deletedAt: nullable(TIMESTAMP),
  }),
  if: { properties: { deletedAt: { type: 'string' } } },
  then: { properties: { body: { const: '' } } },
};

/** An edit of `messageId`: its new text (erased too once the message is deleted). */
const EDIT_ENTRY = objectSchema<RealtimeMessage>({
  ...ENTRY_FIELDS,
  body: { type: 'string', maxLength: MESSAGE_BODY_MAX_LENGTH },
  kind: entryKind('edit'),
  messageId: ID,
  editedAt: { type: 'null' },
  deletedAt: { type: 'null' },
});

/** A delete of `messageId`. */
const DELETE_ENTRY = objectSchema<RealtimeMessage>({
  ...ENTRY_FIELDS,
  body: { type: 'string', const: '' },
  kind: entryKind('delete'),
  messageId: ID,
  editedAt: { type: 'null' },
  deletedAt: { type: 'null' },
});

const COUNT: JsonSchema<number> = { type: 'integer', minimum: 0 };
const RATE: JsonSchema<number> = { type: 'number', minimum: 0 };
const QUANTILE = nullable(RATE) as JsonSchema<number | null>;

const INSTANCE_FIGURES = objectSchema<InstanceFigures>({
  instanceId: { type: 'string', minLength: 1, maxLength: INSTANCE_ID_MAX_LENGTH },
  host: { type: 'string', maxLength: INSTANCE_ID_MAX_LENGTH },
  pid: COUNT,
  startedAt: TIMESTAMP,
  reportedAt: TIMESTAMP,
  stale: { type: 'boolean' },
  state: { type: 'string', enum: ['ready', 'degraded', 'draining', 'not_ready'] },
  database: { type: 'string', enum: ['up', 'down'] },
  redis: { type: 'string', enum: ['up', 'down', 'absent'] },
  breaker: { type: 'string', enum: ['closed', 'open', 'absent'] },
  connections: COUNT,
  roomsLive: COUNT,
  messagesPerSecond: RATE,
  requestsPerSecond: RATE,
  messagesStoredTotal: COUNT,
  requestsTotal: COUNT,
  requestP50Ms: QUANTILE,
  requestP99Ms: QUANTILE,
  commitP50Ms: QUANTILE,
  commitP99Ms: QUANTILE,
  groupCommitMeanBatch: nullable(RATE),
  cacheHitRatio: nullable({ type: 'number', minimum: 0, maximum: 1 }),
  cacheHitsTotal: COUNT,
  cacheMissesTotal: COUNT,
  throttledTotal: COUNT,
  shedTotal: COUNT,
  slowConsumersDroppedTotal: COUNT,
  seqGapsTotal: COUNT,
  heapUsedBytes: COUNT,
  rssBytes: COUNT,
  eventLoopDelayP99Ms: RATE,
  openFds: nullable(COUNT),
});

const FLEET_VIEW = objectSchema<FleetView>({
  generatedAt: TIMESTAMP,
  instances: { type: 'array', maxItems: MAX_FLEET_INSTANCES, items: INSTANCE_FIGURES },
});

const PRESENCE_STATUSES: readonly PresenceStatus[] = ['online', 'offline'];

/** The events the server sends, by event. */
export const SERVER_EVENT_SCHEMAS: { readonly [E in ServerEvent]: EventSchema<ServerEventMap[E]> } =
  {
    joined: {
      summary:
        "The answer to `join`: the room's last `seq` when the connection entered it, from which " +
        '`sync` misses nothing.',
      data: objectSchema<ServerEventMap['joined']>({ roomId: ID, lastSeq: SEQ_OR_ZERO }),
    },
    left: {
      summary: 'The answer to `leave`.',
      data: objectSchema<ServerEventMap['left']>({ roomId: ID }),
    },
    ack: {
      summary:
        'The answer to `send`, `dm`, `edit` and `delete`, after the commit: the stored entry ' +
        '(for `dm`, in the direct room).',
      data: objectSchema<ServerEventMap['ack']>({
        roomId: ID,
        id: ID,
        seq: SEQ,
        clientMsgId: nullable(CLIENT_MSG_ID),
      }),
    },
    history: {
      summary:
        'The answer to `sync`: entries after `afterSeq`, oldest first (messages, edits and ' +
        'deletes); `hasMore` when more follow.',
      data: objectSchema<ServerEventMap['history']>({
        roomId: ID,
        messages: {
          type: 'array',
          maxItems: SYNC_MAX_LIMIT,
          items: { oneOf: [MESSAGE_ENTRY, EDIT_ENTRY, DELETE_ENTRY] },
        },
        hasMore: { type: 'boolean' },
      }),
    },
    message: {
      summary:
        'A new message of a room the connection joined, or a private message to the user ' +
        '(on every connection of the user, without `join`).',
      data: MESSAGE_ENTRY,
    },
    edited: {
      summary: "A message was edited: an `edit` entry with the room's next `seq`.",
      data: EDIT_ENTRY,
    },
    deleted: {
      summary: "A message was deleted: a `delete` entry with the room's next `seq`.",
      data: DELETE_ENTRY,
    },
    read: {
      summary: 'Another member read the room up to `seq`.',
      data: objectSchema<ServerEventMap['read']>({ roomId: ID, userId: ID, seq: SEQ_OR_ZERO }),
    },
    typing: {
      summary:
        'Another member is typing; treat it as over after ' +
        `${TYPING_EXPIRES_MS} ms without another.`,
      data: objectSchema<ServerEventMap['typing']>({ roomId: ID, userId: ID }),
    },
    presence: {
      summary: 'A member of a room the connection joined came online or went offline.',
      data: objectSchema<ServerEventMap['presence']>({
        roomId: ID,
        userId: ID,
        status: { type: 'string', enum: PRESENCE_STATUSES },
      }),
    },
    authed: {
      summary: 'The answer to `auth`: the connection now runs on the new token, until `expiresAt`.',
      data: objectSchema<ServerEventMap['authed']>({ expiresAt: TIMESTAMP }),
    },
    pong: { summary: 'The answer to `ping`.', data: EMPTY_OBJECT },
    fleet: {
      summary:
        "The operator console's view: every instance that reported lately, with its figures " +
        '(the answer to `watchFleet`, then again after each report).',
      data: FLEET_VIEW,
    },
    error: {
      summary:
        'A refused frame; the connection stays open (until refusals repeat: 1008). `ref` is the ' +
        "refused frame's.",
      data: objectSchema<ServerEventMap['error']>(
        {
          code: { type: 'string', enum: Object.keys(REALTIME_ERROR_CODES) },
          message: { type: 'string' },
          ref: { type: 'string', maxLength: MAX_REF_LENGTH },
        },
        { ref: true },
      ),
    },
  };

/** `{event, data, ref?}`: the whole JSON text of a frame of `event`. */
export function frameSchema(event: string, data: JsonSchema): JsonSchema {
  return {
    type: 'object',
    properties: {
      event: { type: 'string', const: event },
      data,
      ref: {
        type: 'string',
        maxLength: MAX_REF_LENGTH,
        description:
          'Any string the client picks; the answer to the frame (or its `error`) carries it back.',
      },
    },
    required: ['event', 'data'],
    additionalProperties: false,
  };
}
