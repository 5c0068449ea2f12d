import { CanActivate, ExecutionContext, UnauthorizedException } from '@nestjs/common';
import request from 'supertest';
import { HttpCacheInterceptor } from '@libs/cache';
import { bearer, registerUser, RegisteredUser } from '@test/support/auth-helpers';
import { createRoom, postMessage, readRoom } from '@test/support/room-helpers';
import { startTestApp, TestApp, useTestApp } from '@test/support/test-app';

/**
 * Cache hits are answered before Nest's routing (`EarlyCacheHits`); what a client sees must not
 * change: the same guards decide, in the same order, a refusal has the usual error shape, every
 * request is counted once against the rate limit, and a hit carries the headers any answer does.
 */
describe('cache hits answered before routing (e2e)', () => {
  /** Requests the set-up of one reader spends: register, create a room, post to it. */
  const SETUP_REQUESTS = 3;
  const LIMIT = SETUP_REQUESTS + 5;
  let testApp: TestApp;

  beforeEach(async () => {
    // One app per test: each spends its own rate-limit budget.
    testApp = await startTestApp({
      environment: { THROTTLE_LIMIT: String(LIMIT), THROTTLE_TTL_MS: '60000' },
    });
  });

  afterEach(async () => {
    await testApp?.close();
  });

  async function readerWithHistory(): Promise<{ reader: RegisteredUser; path: string }> {
    const reader = await registerUser(testApp);
    const room = await createRoom(testApp, reader);
    await postMessage(testApp, reader, room.id);
    return { reader, path: `/api/rooms/${room.id}/messages` };
  }

  it('counts a miss once and each hit once against the rate limit, and refuses past it', async () => {
    const { reader, path } = await readerWithHistory();
    const answers = [];
    for (let i = 0; i < LIMIT - SETUP_REQUESTS + 1; i++) {
      answers.push(await request(testApp.server).get(path).set(bearer(reader.accessToken)));
    }

    // The budget left after the set-up is 5: one miss and four hits, then 429.
    expect(answers.map((answer) => [answer.status, answer.headers['x-cache']])).toEqual([
      [200, 'MISS'],
      [200, 'HIT'],
      [200, 'HIT'],
      [200, 'HIT'],
      [200, 'HIT'],
      [429, undefined],
    ]);
    const refused = answers.at(-1)!;
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.body).toMatchObject({
      statusCode: 429,
      requestId: refused.headers['x-request-id'],
    });
  });

  it('answers a hit with the bytes of the miss and the headers of any answer', async () => {
    const { reader, path } = await readerWithHistory();
    const miss = await request(testApp.server)
      .get(path)
      .set(bearer(reader.accessToken))
      .expect(200);
    const hit = await request(testApp.server).get(path).set(bearer(reader.accessToken)).expect(200);

    expect([miss.headers['x-cache'], hit.headers['x-cache']]).toEqual(['MISS', 'HIT']);
    expect(hit.text).toBe(miss.text);
    expect(hit.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(hit.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(hit.headers['x-request-id']).not.toBe(miss.headers['x-request-id']);
    expect(hit.headers['x-content-type-options']).toBe('nosniff');
  });

  it('answers a hit before the route: the interceptor sees only the miss', async () => {
    const { reader, path } = await readerWithHistory();
    const intercept = jest.spyOn(HttpCacheInterceptor.prototype, 'intercept');
    try {
      const read = () => request(testApp.server).get(path).set(bearer(reader.accessToken));
      expect((await read()).headers['x-cache']).toBe('MISS');
      // Positive control: the miss went through the route's interceptor.
      expect(intercept).toHaveBeenCalledTimes(1);

      expect((await read()).headers['x-cache']).toBe('HIT');
      expect((await read()).headers['x-cache']).toBe('HIT');
      expect(intercept).toHaveBeenCalledTimes(1);
    } finally {
      intercept.mockRestore();
    }
  });

  it('answers a page with a query from the cache, and refuses a query the route would refuse', async () => {
    const { reader, path } = await readerWithHistory();
    const read = (query: Record<string, string>) =>
      request(testApp.server).get(path).query(query).set(bearer(reader.accessToken));

    expect((await read({ limit: '10' })).headers['x-cache']).toBe('MISS');
    const hit = await read({ limit: '10' });
    expect([hit.status, hit.headers['x-cache']]).toEqual([200, 'HIT']);
    // The same validated query written another way shares the entry.
    const samePage = await read({ limit: '010' });
    expect([samePage.status, samePage.headers['x-cache'], samePage.text]).toEqual([
      200,
      'HIT',
      hit.text,
    ]);

    const unknownParameter = await read({ limit: '10', extra: '1' });
    expect(unknownParameter.status).toBe(400);
    expect(unknownParameter.headers['x-cache']).not.toBe('HIT');
  });

  it('runs the guards before a cached page: no token is 401, a stranger to a private room 404', async () => {
    const owner = await registerUser(testApp);
    const stranger = await registerUser(testApp);
    const room = await createRoom(testApp, owner, { visibility: 'private' });
    await readRoom(testApp, owner, room.id, '/messages');
    // Positive control: the page is cached, and the owner gets it from the cache.
    expect(await readRoom(testApp, owner, room.id, '/messages')).toMatchObject({
      status: 200,
      cache: 'HIT',
    });

    const anonymous = await request(testApp.server).get(`/api/rooms/${room.id}/messages`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['x-cache']).toBeUndefined();
    expect(anonymous.body).toMatchObject({ statusCode: 401, code: 'unauthenticated' });

    const strangers = await readRoom(testApp, stranger, room.id, '/messages');
    expect(strangers).toMatchObject({ status: 404, cache: undefined });
    expect(strangers.body).toMatchObject({ statusCode: 404 });
  });

  describe('with a global guard registered outside the app module', () => {
    /** Refuses a request that asks for it: a stand-in for any guard the app adds elsewhere. */
    class RefusingGuard implements CanActivate {
      calls = 0;
      canActivate(context: ExecutionContext): boolean {
        this.calls += 1;
        const headers = context
          .switchToHttp()
          .getRequest<{ headers: Record<string, string> }>().headers;
        if (headers['x-refuse'] === 'yes') {
          throw new UnauthorizedException('Refused by the extra guard');
        }
        return true;
      }
    }
    const refusing = new RefusingGuard();
    const withGuard = useTestApp({ beforeListen: (app) => app.useGlobalGuards(refusing) });

    it('runs it before a cached answer too: it refuses what would otherwise be a HIT', async () => {
      const reader = await registerUser(withGuard);
      const room = await createRoom(withGuard, reader);
      const path = `/api/rooms/${room.id}/messages`;
      const read = (refuse: boolean) =>
        request(withGuard.server)
          .get(path)
          .set(bearer(reader.accessToken))
          .set('x-refuse', refuse ? 'yes' : 'no');

      expect((await read(false)).headers['x-cache']).toBe('MISS');
      // Positive control: the page is cached, and the guard ran for the hit.
      const callsBeforeHit = refusing.calls;
      const hit = await read(false);
      expect([hit.status, hit.headers['x-cache']]).toEqual([200, 'HIT']);
      expect(refusing.calls).toBe(callsBeforeHit + 1);

      const refused = await read(true);
      expect(refused.status).toBe(401);
      expect(refused.headers['x-cache']).toBeUndefined();
      expect(refused.body).toMatchObject({
        statusCode: 401,
        requestId: refused.headers['x-request-id'],
      });
    });
  });
});
