import type { FleetView } from './console-protocol';

/**
 * The WebSocket protocol at `/ws`, shared by the server (which imports these types) and the
 * clients. Frames are JSON text: `{ "event": "…", "data": { … }, "ref"?: "…" }`. A client may put
 * any `ref` (up to 64 characters) on a frame; the server's answer to that frame (`joined`, `left`,
 * `ack`, `history`, `authed`, `pong` or `error`) carries the same `ref`.
 */

/**
 * What a room's sequence holds: a message, or an event that changes an earlier one. Each takes
 * the room's next `seq`, so `sync` replays edits and deletes in order, with no gap, exactly as it
 * replays messages.
 */
export type RoomEventKind = 'message' | 'edit' | 'delete';

/**
 * An entry of a room's sequence as the server delivers and returns it: live as `message`,
 * `edited` or `deleted` (by `kind`), and in `history`.
 *
 * - `message`: `body` is its current text, `editedAt` when it was last edited; once deleted it is a
 *   tombstone: `body` is `""` (erased from storage) and `deletedAt` is set.
 * - `edit`: `messageId` was given the text `body` by its sender (`senderId`).
 * - `delete`: `messageId` was deleted by `senderId` (its sender or the room's owner); `body` is `""`.
 *   An edit event of a deleted message has its `body` erased too.
 */
export interface RealtimeMessage {
  id: string;
  roomId: string;
  /** 1, 2, 3 … per room, with no gap: a jump means entries were missed; `sync` fetches them. */
  seq: number;
  senderId: string;
  body: string;
  clientMsgId: string | null;
  createdAt: string;
  kind: RoomEventKind;
  /** The message an `edit` or `delete` changes; null for a message. */
  messageId: string | null;
  /** A message's last edit; null when never edited, and for events. */
  editedAt: string | null;
  /** When a message was deleted; null while it is not, and for events. */
  deletedAt: string | null;
}

/** The server event that delivers an entry of each kind live. */
export const ENTRY_EVENT = {
  message: 'message',
  edit: 'edited',
  delete: 'deleted',
} as const satisfies Record<RoomEventKind, keyof ServerEventMap>;

/** What a client sends, by event. */
export interface ClientEventMap {
  join: { roomId: string };
  leave: { roomId: string };
  send: { roomId: string; body: string; clientMsgId?: string };
  dm: { userId: string; body: string; clientMsgId?: string };
  sync: { roomId: string; afterSeq: number; limit?: number };
  auth: { token: string };
  ping: Record<string, never>;
  /** The caller has read the room up to `seq` (clamped to the room's `lastSeq`); only moves forward. */
  read: { roomId: string; seq: number };
  /** The caller is typing in a room it joined on this connection; relayed at most every 2 s. */
  typing: { roomId: string };
  /** As `PATCH /api/rooms/:id/messages/:messageId`: answered with `ack` of the edit event. */
  edit: { roomId: string; messageId: string; body: string; clientMsgId?: string };
  /** As `DELETE /api/rooms/:id/messages/:messageId`: answered with `ack` of the delete event. */
  delete: { roomId: string; messageId: string };
  /** Operators only (CONSOLE_USERS): the fleet's figures, at once and on every report. */
  watchFleet: Record<string, never>;
  unwatchFleet: Record<string, never>;
}

export type PresenceStatus = 'online' | 'offline';

export type RealtimeErrorCode =
  | 'bad_json'
  | 'bad_frame'
  | 'nesting_too_deep'
  | 'unknown_event'
  | 'invalid_data'
  | 'not_found'
  | 'not_member'
  | 'forbidden'
  | 'rate_limited'
  | 'conflict'
  | 'unauthenticated'
  | 'unavailable'
  | 'internal';

/** What the server sends, by event. */
export interface ServerEventMap {
  joined: { roomId: string; lastSeq: number };
  left: { roomId: string };
  ack: { roomId: string; id: string; seq: number; clientMsgId: string | null };
  history: { roomId: string; messages: RealtimeMessage[]; hasMore: boolean };
  message: RealtimeMessage;
  /** An `edit` entry of the room's sequence. */
  edited: RealtimeMessage;
  /** A `delete` entry of the room's sequence. */
  deleted: RealtimeMessage;
  /** Another member read the room up to `seq`. */
  read: { roomId: string; userId: string; seq: number };
  /** Another member is typing; treat it as over after TYPING_EXPIRES_MS without another. */
  typing: { roomId: string; userId: string };
  presence: { roomId: string; userId: string; status: PresenceStatus };
  authed: { expiresAt: string };
  pong: Record<string, never>;
  error: { code: RealtimeErrorCode; message: string; ref?: string };
  /** The operator console's view of the fleet (after `watchFleet`). */
  fleet: FleetView;
}

export type ClientEvent = keyof ClientEventMap;
export type ServerEvent = keyof ServerEventMap;

export interface ClientFrame<E extends ClientEvent = ClientEvent> {
  event: E;
  data: ClientEventMap[E];
  ref?: string;
}

export interface ServerFrame<E extends ServerEvent = ServerEvent> {
  event: E;
  data: ServerEventMap[E];
  ref?: string;
}

/** Why the server closed a connection. */
export const CloseCode = {
  /** The server is shutting down: reconnect (to another instance). */
  GoingAway: 1001,
  /** Repeated abuse or a rate limit exceeded again and again; or an operator closed it. */
  PolicyViolation: 1008,
  /** A frame over WS_MAX_PAYLOAD. */
  MessageTooBig: 1009,
  /** The client read too slowly: over WS_MAX_BUFFERED bytes were waiting for it. */
  TryAgainLater: 1013,
  /** The access token expired and no fresh one came with `auth`. */
  TokenExpired: 4401,
} as const;

export const MAX_REF_LENGTH = 64;

/** At most one `typing` per connection and room is relayed this often; the rest are dropped. */
export const TYPING_RELAY_INTERVAL_MS = 2000;
/** A receiver treats someone as no longer typing this long after their last `typing`. */
export const TYPING_EXPIRES_MS = 5000;
