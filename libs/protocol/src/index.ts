// The WebSocket protocol at `/ws`: types and constants only, so that the server can share them
// with libs/client without loading the generated REST client.
export * from './realtime-protocol';
