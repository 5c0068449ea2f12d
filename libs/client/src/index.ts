// The typed Switchboard REST client. `generated/` is written by `npm run client` from
// openapi.json: never edit it by hand.
export * from './generated';
export { client } from './generated/client.gen';
export { createClient, createConfig } from './generated/client';
