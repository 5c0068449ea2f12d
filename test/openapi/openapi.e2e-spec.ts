import request from 'supertest';
import { startTestApp, useTestApp } from '@test/support/test-app';

const PRODUCTION = { NODE_ENV: 'production', JWT_SECRET: 'a-production-secret-of-32-characters!' };

describe('OpenAPI document and Swagger UI (e2e)', () => {
  const testApp = useTestApp();

  it('serves the document at /openapi.json, with handler names as operation ids', async () => {
    const response = await request(testApp.server).get('/openapi.json').expect(200);

    expect(response.body.openapi).toMatch(/^3\./);
    expect(response.body.paths['/api/auth/login'].post.operationId).toBe('login');
    expect(response.body.paths['/api/users/me'].get.security).toEqual([{ bearer: [] }]);
  });

  it('serves Swagger UI at /docs', async () => {
    const response = await request(testApp.server).get('/docs').redirects(1).expect(200);

    expect(response.headers['content-type']).toMatch(/text\/html/);
    expect(response.text).toMatch(/swagger/i);
  });

  it('serves neither in production', async () => {
    const production = await startTestApp({ environment: PRODUCTION });
    try {
      await request(production.server).get('/openapi.json').expect(404);
      await request(production.server).get('/docs').expect(404);
    } finally {
      await production.close();
    }
  });

  it('serves them in production when DOCS=true', async () => {
    const production = await startTestApp({ environment: { ...PRODUCTION, DOCS: 'true' } });
    try {
      await request(production.server).get('/openapi.json').expect(200);
    } finally {
      await production.close();
    }
  });
});
