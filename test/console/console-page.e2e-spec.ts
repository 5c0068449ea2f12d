import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { startTestApp, useTestApp } from '@test/support/test-app';

const PAGE_SOURCES = join(__dirname, '..', '..', 'src', 'console', 'page');
const ASSETS = [
  { path: '/console', file: 'index.html', type: /^text\/html; charset=utf-8/ },
  { path: '/console/console.js', file: 'console.js', type: /^text\/javascript; charset=utf-8/ },
  { path: '/console/console.css', file: 'console.css', type: /^text\/css; charset=utf-8/ },
];

describe('the operator console page at /console (e2e)', () => {
  const testApp = useTestApp({ environment: { CONSOLE_USERS: 'ops.alice' } });

  it.each(ASSETS)(
    'serves $path as written, never cached, under the strict CSP',
    async ({ path, file, type }) => {
      const response = await request(testApp.server).get(path).expect(200);

      expect(response.headers['content-type']).toMatch(type);
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      const policy = String(response.headers['content-security-policy']);
      for (const directive of [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
      ]) {
        expect(policy.split('; ')).toContain(directive);
      }
      expect(policy).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
      const body = file === 'index.html' ? response.text : String(response.text ?? response.body);
      expect(body).toBe(readFileSync(join(PAGE_SOURCES, file), 'utf8'));
    },
  );

  it('the page has no inline script, style or handler: only its own files', async () => {
    const html = (await request(testApp.server).get('/console').expect(200)).text;

    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    expect(scripts.map(([, attributes]) => attributes.trim())).toEqual([
      'type="module" src="/console/console.js"',
    ]);
    expect(scripts.every(([, , content]) => content.trim() === '')).toBe(true);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=|javascript:/i);
    expect(html).toContain('<link rel="stylesheet" href="/console/console.css" />');
  });

  it('the script writes text, never markup', () => {
    const script = readFileSync(join(PAGE_SOURCES, 'console.js'), 'utf8');

    expect(script).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/);
    expect(script).not.toMatch(/localStorage|sessionStorage|document\.cookie/);
  });

  it('is left out of the OpenAPI document and the /api prefix', async () => {
    const openapi = await request(testApp.server).get('/openapi.json').expect(200);

    expect(
      Object.keys(openapi.body.paths).filter((path) => path.includes('console/console')),
    ).toEqual([]);
    expect(Object.keys(openapi.body.paths)).not.toContain('/console');
    await request(testApp.server).get('/api/console/console.js').expect(404);
  });

  it('answers 404 for every file while CONSOLE_USERS is empty (the console is off)', async () => {
    const off = await startTestApp({ environment: { CONSOLE_USERS: '' } });
    try {
      for (const { path } of ASSETS) {
        const response = await request(off.server).get(path).expect(404);
        expect(response.headers['content-type']).toMatch(/^application\/json/);
        expect(response.text).not.toContain('console.js');
      }
      // Positive control: the same app serves its other pages.
      await request(off.server).get('/health').expect(200);
    } finally {
      await off.close();
    }
  });
});
