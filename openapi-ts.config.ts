import { defineConfig } from '@hey-api/openapi-ts';

// `npm run client`: the typed REST client in libs/client, from the committed openapi.json.
export default defineConfig({
  input: './openapi.json',
  output: { path: './libs/client/src/generated' },
  // The probes and /metrics are for load balancers and scrapers, not for API clients.
  parser: { filters: { tags: { exclude: ['health'] } } },
  plugins: ['@hey-api/typescript', '@hey-api/sdk', '@hey-api/client-fetch'],
});
