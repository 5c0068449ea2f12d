/**
 * The WebSocket protocol at `/ws`, shared by the server (which imports these types) and the
 * clients. Frames are JSON text: `{ "event": "…", "data": { … }, "ref"?: "…" }`. A client may put
 * any `ref` (up to 64 characters) on a frame; the server's answer to that frame (`joined`, `left`,
 * `ack`, `history`, `authed`, `pong` or `error`) carries the same `ref`.
 */

/** A message as the server delivers and returns it. */
export interface RealtimeMessage {
  id: string;
  roomId: string;
  /** 1, 2, 3 … per room, with no gap: a jump means messages were missed; `sync` fetches them. */
  seq: number;
  senderId: string;
  body: string;
  clientMsgId: string | null;
  createdAt: string;
}

/** What a client sends, by event. */
export interface ClientEventMap {
  join: { roomId: string };
  leave: { roomId: string };
  send: { roomId: string; body: string; clientMsgId?: string };
  dm: { userId: string; body: string; clientMsgId?: string };
  sync: { roomId: string; afterSeq: number; limit?: number };
  auth: { token: string };
  ping: Record<string, never>;
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
  presence: { roomId: string; userId: string; status: PresenceStatus };
  authed: { expiresAt: string };
  pong: Record<string, never>;
  error: { code: RealtimeErrorCode; message: string; ref?: string };
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
  /** Repeated abuse or a rate limit exceeded again and again. */
  PolicyViolation: 1008,
  /** A frame over WS_MAX_PAYLOAD. */
  MessageTooBig: 1009,
  /** The client read too slowly: over WS_MAX_BUFFERED bytes were waiting for it. */
  TryAgainLater: 1013,
  /** The access token expired and no fresh one came with `auth`. */
  TokenExpired: 4401,
} as const;

export const MAX_REF_LENGTH = 64;
