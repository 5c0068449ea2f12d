// The WebSocket protocol at `/ws`: types, constants and the JSON Schemas of its frames, so that
// the server can share them with libs/client without loading the generated REST client.
export * from './console-protocol';
export * from './realtime-protocol';
export * from './realtime-limits';
export * from './realtime-schemas';
