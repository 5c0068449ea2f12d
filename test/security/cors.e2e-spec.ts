import request from 'supertest';
import { useTestApp } from '@test/support/test-app';

const ALLOWED = 'https://app.example';

describe('CORS (e2e)', () => {
  const testApp = useTestApp({ environment: { CORS_ORIGINS: ALLOWED } });

  const preflight = (origin: string, method: string) =>
    request(testApp.server)
      .options('/api/rooms/00000000-0000-4000-8000-000000000000/members/me')
      .set('Origin', origin)
      .set('Access-Control-Request-Method', method)
      .set('Access-Control-Request-Headers', 'authorization,content-type');

  it.each(['GET', 'HEAD', 'POST', 'PUT', 'DELETE'])(
    'a configured origin may send %s (join, leave and delete need PUT and DELETE)',
    async (method) => {
      const response = await preflight(ALLOWED, method).expect(204);

      expect(response.headers['access-control-allow-origin']).toBe(ALLOWED);
      expect(response.headers['access-control-allow-methods']?.split(/,\s*/)).toContain(method);
    },
  );

  it('another origin gets no CORS permission', async () => {
    const response = await preflight('https://evil.example', 'DELETE');

    expect(response.headers['access-control-allow-origin']).toBeUndefined();
  });
});
