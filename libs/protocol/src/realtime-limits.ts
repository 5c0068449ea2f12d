// Limits the server enforces on the fields of frames. The REST DTOs use the same constants, so the
// AsyncAPI document (built from realtime-schemas.ts) and the server cannot disagree.

/** `body` of `send`, `dm` and `edit` (and of a REST post or edit): 1 to 4000 characters. */
export const MESSAGE_BODY_MAX_LENGTH = 4000;
/** `clientMsgId`: 1 to 64 characters. */
export const CLIENT_MESSAGE_ID_MAX_LENGTH = 64;
/** `token` of `auth`: 1 to 4096 characters. */
export const ACCESS_TOKEN_MAX_LENGTH = 4096;
/** `limit` of `sync`, as a page of history: 1 to 200, 50 when left out. */
export const SYNC_MAX_LIMIT = 200;
export const SYNC_DEFAULT_LIMIT = 50;
