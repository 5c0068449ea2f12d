// `npm run asyncapi`: writes asyncapi.json, the WebSocket protocol's AsyncAPI document, from
// libs/protocol. Runs from dist/ (see package.json) like export-openapi.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createAsyncApiDocument } from '@app/asyncapi/asyncapi-document';
import { sortKeys } from '@app/openapi/openapi-document';

const OUTPUT = resolve(__dirname, '..', '..', 'asyncapi.json');

writeFileSync(OUTPUT, `${JSON.stringify(sortKeys(createAsyncApiDocument()), null, 2)}\n`);
process.stdout.write(`wrote ${OUTPUT}\n`);
