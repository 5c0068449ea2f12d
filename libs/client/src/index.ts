// The typed Switchboard clients. `generated/` is the REST client written by `npm run client`
// from openapi.json: never edit it by hand. `realtime/` is the WebSocket client.
export * from './generated';
// openapi-ts does not type response headers; `npm run client` writes them here.
export type { ResponseHeaders } from './generated/response-headers.gen';
export { client } from './generated/client.gen';
export { createClient, createConfig } from './generated/client';
// The protocol lives in libs/protocol (the server uses it too); re-exported so users see one package.
// Names the REST document also declares (the same union) come from there.
export * from '@libs/protocol';
export type { RoomEventKind } from './generated';
export * from './realtime/realtime-client';
export { reconnectDelay, retryAfterDelay, DEFAULT_RECONNECT } from './realtime/reconnect-backoff';
