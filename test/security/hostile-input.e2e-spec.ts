import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { CloseCode } from '@libs/client';
import { MISSING_ID } from '@test/factories/ids';
import { signAccessToken } from '@test/support/access-token-forgery';
import { bearer, registerUser, RegisteredUser } from '@test/support/auth-helpers';
import { createRoom, RoomBody } from '@test/support/room-helpers';
import { useTestApp } from '@test/support/test-app';
import { WsTestClient } from '@test/support/ws-test-client';

/**
 * Generous: the point is "bounded", not a benchmark (the unguarded server took 0.6–1.7 s). CPU
 * time of this process (server and client both run in it), not wall time: other work on the
 * machine must not fail the check, and a parse that runs away spends CPU however busy the
 * machine is.
 */
const ANSWER_WITHIN_CPU_MS = 500;

/** `work`'s result and the CPU time this process spent until it settled. */
async function withCpuMs<T>(work: () => Promise<T>): Promise<{ result: T; cpuMs: number }> {
  const before = process.cpuUsage();
  const result = await work();
  const spent = process.cpuUsage(before);
  return { result, cpuMs: (spent.user + spent.system) / 1000 };
}
const NUL = 'a\u0000b';
const LONE_SURROGATE = 'a\ud800b';
const deeplyNested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

interface Route {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  /** A valid body: each of its string fields is made hostile in turn. */
  body?: Record<string, unknown>;
  public?: boolean;
}

describe('hostile input on every route and frame (e2e)', () => {
  const testApp = useTestApp();
  let alice: RegisteredUser;
  let bob: RegisteredUser;
  let room: RoomBody;
  let routes: Route[];

  beforeAll(async () => {
    alice = await registerUser(testApp);
    bob = await registerUser(testApp);
    room = await createRoom(testApp, alice);
    const message = { body: 'hello', clientMsgId: 'c-1' };
    routes = [
      {
        method: 'post',
        path: '/api/auth/register',
        body: { username: 'mallory', password: 'a-long-password', displayName: 'M' },
        public: true,
      },
      {
        method: 'post',
        path: '/api/auth/login',
        body: { username: 'u', password: 'p' },
        public: true,
      },
      { method: 'post', path: '/api/auth/refresh', body: { refreshToken: 'x' }, public: true },
      { method: 'post', path: '/api/auth/logout', body: { refreshToken: 'x' }, public: true },
      { method: 'get', path: '/api/users/me' },
      { method: 'get', path: `/api/users/${bob.id}` },
      { method: 'post', path: `/api/users/${bob.id}/messages`, body: message },
      { method: 'post', path: '/api/rooms', body: { name: 'general', visibility: 'public' } },
      { method: 'get', path: '/api/rooms' },
      { method: 'get', path: `/api/rooms/${room.id}` },
      { method: 'delete', path: `/api/rooms/${MISSING_ID}` },
      { method: 'put', path: `/api/rooms/${room.id}/members/me` },
      { method: 'delete', path: `/api/rooms/${MISSING_ID}/members/me` },
      { method: 'post', path: `/api/rooms/${room.id}/members`, body: { userId: bob.id } },
      { method: 'get', path: `/api/rooms/${room.id}/members` },
      { method: 'get', path: `/api/rooms/${room.id}/messages` },
      { method: 'post', path: `/api/rooms/${room.id}/messages`, body: message },
      { method: 'patch', path: `/api/rooms/${room.id}/messages/${MISSING_ID}`, body: message },
      { method: 'delete', path: `/api/rooms/${room.id}/messages/${MISSING_ID}` },
      { method: 'put', path: `/api/rooms/${room.id}/read`, body: { seq: 1 } },
      { method: 'delete', path: `/api/rooms/${room.id}/members/${bob.id}` },
      { method: 'put', path: `/api/rooms/${room.id}/bans/${bob.id}` },
      { method: 'delete', path: `/api/rooms/${room.id}/bans/${bob.id}` },
      { method: 'get', path: `/api/rooms/${room.id}/bans` },
      { method: 'put', path: `/api/rooms/${room.id}/owner`, body: { userId: bob.id } },
      { method: 'get', path: '/api/console/fleet' },
      { method: 'get', path: `/api/console/rooms/${room.id}` },
      { method: 'post', path: `/api/console/users/${bob.id}/disconnect` },
      { method: 'delete', path: `/api/console/rooms/${room.id}/members/${bob.id}` },
    ];
  });

  /** The request of `expectRefused`, sent. */
  function resend(
    route: Route,
    send: { body?: unknown; rawBody?: string; token?: string; query?: string },
  ) {
    const call = request(testApp.server)[route.method](`${route.path}${send.query ?? ''}`);
    const token = send.token ?? alice.accessToken;
    if (token) {
      call.set(bearer(token));
    }
    if (send.rawBody !== undefined) {
      call.set('Content-Type', 'application/json').send(send.rawBody);
    } else if (send.body !== undefined) {
      call.send(send.body as object);
    }
    return call;
  }

  /** Sends and asserts a 4xx answered in bounded time; returns the body. */
  async function expectRefused(
    route: Route,
    send: { body?: unknown; rawBody?: string; token?: string; query?: string },
    status: number,
  ): Promise<Record<string, unknown>> {
    let { result: response, cpuMs } = await withCpuMs(async () => await resend(route, send));
    if (cpuMs >= ANSWER_WITHIN_CPU_MS) {
      // The process's CPU time counts every thread (a garbage collection of the test's own heap
      // included): a refusal that is really unbounded is over the bound again, a one-off is not.
      ({ result: response, cpuMs } = await withCpuMs(async () => await resend(route, send)));
    }

    expect({ route: `${route.method} ${route.path}`, status: response.status }).toEqual({
      route: `${route.method} ${route.path}`,
      status,
    });
    expect(cpuMs).toBeLessThan(ANSWER_WITHIN_CPU_MS);
    return response.body as Record<string, unknown>;
  }

  it('a 1 MiB body nested 500 000 deep: 400 nesting_too_deep on every route that takes a body', async () => {
    const body = `{"username":"a","password":${deeplyNested(500_000)}}`;
    expect(body.length).toBeLessThan(1_048_576);

    // GET bodies are never read.
    for (const route of routes.filter((candidate) => candidate.method !== 'get')) {
      const answer = await expectRefused(route, { rawBody: body }, 400);
      expect(answer).toMatchObject({ code: 'nesting_too_deep' });
    }
  });

  it('nesting up to JSON_MAX_DEPTH still parses (then fails validation, not parsing)', async () => {
    const route = routes.find((candidate) => candidate.path === '/api/auth/login')!;
    const answer = await expectRefused(
      route,
      { rawBody: `{"username":"a","password":${deeplyNested(31)}}` },
      400,
    );
    expect(answer.code).toBeUndefined();
    expect(answer.details).toContainEqual({
      field: 'password',
      message: 'password must be a string',
    });
  });

  it('a list of 100 000 items in a field, or as the body: 400', async () => {
    for (const route of routes.filter((candidate) => candidate.body)) {
      const field = Object.keys(route.body!)[0];
      const answer = await expectRefused(
        route,
        { body: { ...route.body, [field]: Array.from({ length: 100_000 }, () => 'x') } },
        400,
      );
      expect(answer.details).toEqual([expect.objectContaining({ field })]);
      await expectRefused(route, { rawBody: JSON.stringify(Array(100_000).fill(1)) }, 400);
    }
  });

  it.each([
    ['NUL', NUL],
    ['a lone surrogate', LONE_SURROGATE],
  ])('%s in any string field: 400 naming the field', async (_case, hostile) => {
    for (const route of routes.filter((candidate) => candidate.body)) {
      for (const [field, value] of Object.entries(route.body!)) {
        if (typeof value !== 'string') {
          continue;
        }
        const answer = await expectRefused(
          route,
          { body: { ...route.body, [field]: hostile } },
          400,
        );
        expect(answer.details).toEqual([
          { field, message: `${field} must not contain NUL characters or unpaired surrogates` },
        ]);
      }
    }
  });

  // A URL cannot carry a lone surrogate (its UTF-8 decodes to U+FFFD), but it can carry NUL.
  it('NUL in a query value or a path parameter: 400', async () => {
    const list: Route = { method: 'get', path: '/api/rooms' };
    const answer = await expectRefused(list, { query: '?cursor=a%00b' }, 400);
    expect(answer.details).toEqual([expect.objectContaining({ field: 'cursor' })]);
    await expectRefused({ method: 'get', path: '/api/users/a%00b' }, {}, 400);
    await expectRefused(
      { method: 'get', path: `/api/rooms/${room.id}/messages` },
      { query: '?cursor=%00' },
      400,
    );
  });

  it('forged and foreign tokens: 401 on every authenticated route', async () => {
    const foreign = signAccessToken(randomBytes(32).toString('hex'), {
      sub: alice.id,
      sid: MISSING_ID,
    });
    const unsigned = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(
      JSON.stringify({ sub: alice.id, sid: MISSING_ID, exp: 4102444800 }),
    ).toString('base64url')}.`;
    const tampered = `${alice.accessToken.slice(0, -2)}${alice.accessToken.endsWith('A') ? 'B' : 'A'}A`;

    for (const route of routes.filter((candidate) => !candidate.public)) {
      for (const token of [foreign, unsigned, tampered, 'x'.repeat(5000)]) {
        await expectRefused(route, { token, body: route.body }, 401);
      }
    }
  });

  describe('WebSocket frames', () => {
    const frames: Record<string, Record<string, unknown>> = {
      join: { roomId: MISSING_ID },
      leave: { roomId: MISSING_ID },
      send: { roomId: MISSING_ID, body: 'hi', clientMsgId: 'c-1' },
      dm: { userId: MISSING_ID, body: 'hi' },
      sync: { roomId: MISSING_ID, afterSeq: 0 },
      auth: { token: 'x' },
      ping: {},
      read: { roomId: MISSING_ID, seq: 1 },
      typing: { roomId: MISSING_ID },
      edit: { roomId: MISSING_ID, messageId: MISSING_ID, body: 'hi', clientMsgId: 'c-2' },
      delete: { roomId: MISSING_ID, messageId: MISSING_ID },
      watchFleet: {},
      unwatchFleet: {},
    };

    it('a frame nested past the limit, of any event: an error frame, at once', async () => {
      // A connection per event: a refused frame counts toward the abuse allowance (10), and
      // there are more events than that.
      for (const event of Object.keys(frames)) {
        const client = await WsTestClient.connect(testApp.url, { token: alice.accessToken });
        const { result: refusal, cpuMs } = await withCpuMs(() => {
          client.sendUnchecked(`{"event":"${event}","data":{"x":${deeplyNested(30_000)}}}`);
          return client.next('error');
        });

        expect(refusal.data).toMatchObject({ code: 'nesting_too_deep' });
        expect(cpuMs).toBeLessThan(ANSWER_WITHIN_CPU_MS);
        // Still open and answering.
        await expect(client.request('ping', {}, 'pong')).resolves.toMatchObject({ event: 'pong' });
        await client.closeAndWait();
      }
    });

    it.each([
      ['NUL', NUL],
      ['a lone surrogate', LONE_SURROGATE],
    ])(
      '%s in any string field of any frame: invalid_data naming the field',
      async (_case, hostile) => {
        for (const [event, data] of Object.entries(frames)) {
          // A connection per event, as above: the refusals would use up the abuse allowance.
          const client = await WsTestClient.connect(testApp.url, { token: alice.accessToken });
          for (const [field, value] of Object.entries(data)) {
            if (typeof value !== 'string') {
              continue;
            }
            client.sendUnchecked({ event, data: { ...data, [field]: hostile } });

            const error = await client.next('error');
            expect(error.data).toMatchObject({ code: 'invalid_data' });
            expect(error.data.message).toContain(field);
          }
          await client.closeAndWait();
        }
      },
    );

    it('a connection that keeps sending deep frames is closed with 1008', async () => {
      const client = await WsTestClient.connect(testApp.url, { token: alice.accessToken });

      for (let i = 0; i < 15; i++) {
        client.sendUnchecked(`{"event":"ping","data":${deeplyNested(1_000)}}`);
      }

      expect((await client.closed).code).toBe(CloseCode.PolicyViolation);
      expect(client.received('error')[0]).toMatchObject({ code: 'nesting_too_deep' });
    });

    it('forged and foreign tokens cannot upgrade', async () => {
      const foreign = signAccessToken(randomBytes(32).toString('hex'), {
        sub: alice.id,
        sid: MISSING_ID,
      });
      for (const token of [foreign, `${alice.accessToken}x`, NUL, LONE_SURROGATE]) {
        // A header cannot carry NUL or a surrogate; a query can.
        for (const tokenInQuery of /^[\x20-\x7e]+$/.test(token) ? [false, true] : [true]) {
          const upgrade = await WsTestClient.tryConnect(testApp.url, { token, tokenInQuery });
          expect(upgrade).toMatchObject({ accepted: false, status: 401 });
        }
      }
      const upgrade = await WsTestClient.tryConnect(testApp.url, { token: alice.accessToken });
      expect(upgrade.accepted).toBe(true);
      if (upgrade.accepted) {
        await upgrade.client.closeAndWait();
      }
    });
  });
});
