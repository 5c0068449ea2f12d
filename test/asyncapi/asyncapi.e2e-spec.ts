import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { CLIENT_FRAME_SCHEMAS, SERVER_EVENT_SCHEMAS } from '@libs/protocol';
import { startTestApp, useTestApp } from '@test/support/test-app';

const PRODUCTION = { NODE_ENV: 'production', JWT_SECRET: 'a-production-secret-of-32-characters!' };

describe('AsyncAPI document of the WebSocket protocol (e2e)', () => {
  const testApp = useTestApp();

  it('serves the committed asyncapi.json at /asyncapi.json, without a token', async () => {
    const response = await request(testApp.server).get('/asyncapi.json').expect(200);

    expect(response.headers['content-type']).toMatch(/^application\/json/);
    const committed: unknown = JSON.parse(
      readFileSync(join(__dirname, '..', '..', 'asyncapi.json'), 'utf8'),
    );
    expect(response.body).toEqual(committed);
    expect(response.body.asyncapi).toBe('3.0.0');
    expect(response.body.channels.ws.address).toBe('/ws');
  });

  it('renders it at /docs/realtime: a table per event, no script, a CSP that allows only its style', async () => {
    const response = await request(testApp.server).get('/docs/realtime').expect(200);

    expect(response.headers['content-type']).toMatch(/^text\/html/);
    for (const event of Object.keys(CLIENT_FRAME_SCHEMAS)) {
      expect(response.text).toContain(`<section id="client-${event}">`);
    }
    for (const event of Object.keys(SERVER_EVENT_SCHEMAS)) {
      expect(response.text).toContain(`<section id="server-${event}">`);
    }
    expect(response.text).toContain('<td><code>clientMsgId</code></td>');
    expect(response.text).not.toMatch(/<script|\son\w+=/i);
    const policy = response.headers['content-security-policy'];
    expect(policy).toMatch(/default-src 'none'/);
    expect(policy).not.toMatch(/unsafe-inline|script-src/);
    const style = /<style>([^<]*)<\/style>/.exec(response.text)?.[1] ?? '';
    const styleHash = createHash('sha256').update(style).digest('base64');
    expect(policy).toContain(`style-src 'sha256-${styleHash}'`);
  });

  it('leaves both out of the OpenAPI document, like the other documentation routes', async () => {
    const openapi = await request(testApp.server).get('/openapi.json').expect(200);

    expect(Object.keys(openapi.body.paths)).toContain('/api/rooms');
    expect(Object.keys(openapi.body.paths).filter((path) => /asyncapi|docs/.test(path))).toEqual(
      [],
    );
  });

  it('serves neither in production unless DOCS=true, as /openapi.json', async () => {
    const production = await startTestApp({ environment: PRODUCTION });
    try {
      await request(production.server).get('/asyncapi.json').expect(404);
      await request(production.server).get('/docs/realtime').expect(404);
      await request(production.server).get('/health').expect(200);
    } finally {
      await production.close();
    }
  });
});
