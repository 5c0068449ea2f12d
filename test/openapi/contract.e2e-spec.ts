import { randomBytes } from 'node:crypto';
import request, { Response } from 'supertest';
import { aRegistration } from '@test/factories/user.factory';
import { aMessage, aRoom } from '@test/factories/room.factory';
import { MISSING_ID } from '@test/factories/ids';
import { bearer, registerUser, RegisteredUser } from '@test/support/auth-helpers';
import { OpenApiContract } from '@test/support/openapi-contract';
import { createRoom } from '@test/support/room-helpers';
import { startTestApp, useTestApp } from '@test/support/test-app';

// The base URL: supertest sends to it, and so does the generated client of the helpers.
type Server = string;

/** The console's operator (CONSOLE_USERS of the suite's app), registered once, when first needed. */
const OPERATOR_NAME = `ops_${randomBytes(3).toString('hex')}`;
let operator: Promise<RegisteredUser> | undefined;
const operatorOf = (server: Server) =>
  (operator ??= registerUser({ server, url: server }, { username: OPERATOR_NAME }));

/**
 * For each operation of the committed openapi.json, real answers of the running server: the
 * success and the refusals a client can provoke. Each must match the document exactly.
 */
const CASES = {
  register: async (server) => {
    const registration = aRegistration();
    return [
      await request(server).post('/api/auth/register').send(registration),
      await request(server).post('/api/auth/register').send(registration),
      await request(server)
        .post('/api/auth/register')
        .send({ ...aRegistration(), admin: true }),
      await request(server)
        .post('/api/auth/register')
        .send({ username: 'x'.repeat(1_100_000) }),
      await request(server).post('/api/auth/register').type('form').send('username=a'),
    ];
  },
  login: async (server, user) => [
    await request(server).post('/api/auth/login').send(user.registration),
    await request(server)
      .post('/api/auth/login')
      .send({ ...user.registration, password: 'not-the-password' }),
  ],
  refreshTokens: async (server) => {
    const { refreshToken } = await registerUser({ server, url: server });
    return [
      await request(server).post('/api/auth/refresh').send({ refreshToken }),
      await request(server).post('/api/auth/refresh').send({ refreshToken }),
    ];
  },
  logout: async (server) => {
    const { refreshToken } = await registerUser({ server, url: server });
    return [
      await request(server).post('/api/auth/logout').send({ refreshToken }),
      await request(server).post('/api/auth/logout').send({}),
    ];
  },
  getMyProfile: async (server, user) => [
    await request(server).get('/api/users/me').set(bearer(user.accessToken)),
    await request(server).get('/api/users/me'),
    await request(server).get('/api/users/me').set(bearer('not.a.token')),
  ],
  getUserProfile: async (server, user) => {
    const get = (path: string) => request(server).get(path).set(bearer(user.accessToken));
    return [
      await get(`/api/users/${user.id}`),
      await get(`/api/users/${user.id}`),
      await get(`/api/users/${user.id}?unknown=1`),
      await get('/api/users/not-a-uuid'),
      await get(`/api/users/${MISSING_ID}`),
      await request(server).get(`/api/users/${user.id}`),
    ];
  },
  postPrivateMessage: async (server, user) => {
    const other = await registerUser({ server, url: server });
    const post = (id: string, body: object) =>
      request(server).post(`/api/users/${id}/messages`).set(bearer(user.accessToken)).send(body);
    return [
      await post(other.id, aMessage()),
      await post(MISSING_ID, aMessage()),
      await post(other.id, { body: '' }),
    ];
  },
  createRoom: async (server, user) => {
    const post = (body: object) =>
      request(server).post('/api/rooms').set(bearer(user.accessToken)).send(body);
    return [
      await post(aRoom()),
      await post({ ...aRoom(), topic: 'unknown field' }),
      await post(aRoom({ name: '   ' })),
    ];
  },
  listRooms: async (server, user) => {
    await createRoom({ server, url: server }, user);
    const get = (query: string) =>
      request(server).get(`/api/rooms${query}`).set(bearer(user.accessToken));
    return [await get('?limit=1'), await get('?limit=1.5'), await get('?unknown=1')];
  },
  getRoom: async (server, user) => {
    const room = await createRoom({ server, url: server }, user);
    const get = (id: string) =>
      request(server).get(`/api/rooms/${id}`).set(bearer(user.accessToken));
    return [await get(room.id), await get(room.id), await get(MISSING_ID), await get('1')];
  },
  deleteRoom: async (server, user) => {
    const room = await createRoom({ server, url: server }, user);
    const other = await registerUser({ server, url: server });
    const remove = (as: RegisteredUser) =>
      request(server).delete(`/api/rooms/${room.id}`).set(bearer(as.accessToken));
    return [
      await remove(other),
      await remove(other).type('form').send('a=b'),
      await remove(user),
      await remove(user),
    ];
  },
  joinRoom: async (server, user) => {
    const room = await createRoom({ server, url: server }, user);
    const joiner = await registerUser({ server, url: server });
    const join = (id: string) =>
      request(server).put(`/api/rooms/${id}/members/me`).set(bearer(joiner.accessToken));
    return [
      await join(room.id),
      await join(MISSING_ID),
      // A body this route does not take is still read first: too large, then not JSON.
      await join(room.id).send({ padding: 'x'.repeat(1_100_000) }),
      await join(room.id).type('form').send('a=b'),
      await request(server)
        .put(`/api/rooms/${room.id}/bans/${joiner.id}`)
        .set(bearer(user.accessToken))
        .then(() => join(room.id)),
    ];
  },
  leaveRoom: async (server, user) => {
    const room = await createRoom({ server, url: server }, user);
    const leave = () =>
      request(server).delete(`/api/rooms/${room.id}/members/me`).set(bearer(user.accessToken));
    return [
      await leave(),
      await leave().send({ padding: 'x'.repeat(1_100_000) }),
      await leave().type('form').send('a=b'),
    ];
  },
  addRoomMember: async (server, user) => {
    const room = await createRoom({ server, url: server }, user, { visibility: 'private' });
    const other = await registerUser({ server, url: server });
    const add = (as: RegisteredUser, userId: string) =>
      request(server)
        .post(`/api/rooms/${room.id}/members`)
        .set(bearer(as.accessToken))
        .send({ userId });
    return [await add(user, other.id), await add(other, user.id), await add(user, 'nobody')];
  },
  markRoomRead: async (server, user) => {
    const room = await createRoom({ server, url: server }, user);
    const outsider = await registerUser({ server, url: server });
    const mark = (as: RegisteredUser, id: string, seq: unknown) =>
      request(server).put(`/api/rooms/${id}/read`).set(bearer(as.accessToken)).send({ seq });
    return [
      await mark(user, room.id, 5),
      await mark(outsider, room.id, 1),
      await mark(user, MISSING_ID, 1),
      await mark(user, room.id, -1),
    ];
  },
  listRoomMembers: async (server, user) => {
    const room = await createRoom({ server, url: server }, user);
    const get = (query: string) =>
      request(server).get(`/api/rooms/${room.id}/members${query}`).set(bearer(user.accessToken));
    return [await get(''), await get(''), await get('?limit=0')];
  },
  removeRoomMember: async (server, user) => {
    const room = await createRoom({ server, url: server }, user);
    const member = await registerUser({ server, url: server });
    await request(server).put(`/api/rooms/${room.id}/members/me`).set(bearer(member.accessToken));
    const remove = (as: RegisteredUser, roomId: string, userId: string) =>
      request(server).delete(`/api/rooms/${roomId}/members/${userId}`).set(bearer(as.accessToken));
    return [
      await remove(member, room.id, user.id),
      await remove(user, room.id, member.id),
      await remove(user, room.id, user.id),
      await remove(user, MISSING_ID, member.id),
      await remove(user, room.id, 'nobody'),
    ];
  },
  banRoomUser: async (server, user) => {
    const room = await createRoom({ server, url: server }, user);
    const other = await registerUser({ server, url: server });
    const ban = (as: RegisteredUser, userId: string) =>
      request(server).put(`/api/rooms/${room.id}/bans/${userId}`).set(bearer(as.accessToken));
    return [
      await ban(user, other.id),
      await ban(user, user.id),
      await ban(other, user.id),
      await ban(user, MISSING_ID),
      await ban(user, 'nobody'),
    ];
  },
  unbanRoomUser: async (server, user) => {
    const room = await createRoom({ server, url: server }, user);
    const other = await registerUser({ server, url: server });
    const unban = (as: RegisteredUser, roomId: string, userId: string) =>
      request(server).delete(`/api/rooms/${roomId}/bans/${userId}`).set(bearer(as.accessToken));
    return [
      await unban(user, room.id, other.id),
      await unban(other, room.id, other.id),
      await unban(user, MISSING_ID, other.id),
      await unban(user, room.id, 'nobody'),
    ];
  },
  listRoomBans: async (server, user) => {
    const room = await createRoom({ server, url: server }, user);
    const other = await registerUser({ server, url: server });
    await request(server)
      .put(`/api/rooms/${room.id}/bans/${other.id}`)
      .set(bearer(user.accessToken));
    const get = (as: RegisteredUser, roomId: string, query: string) =>
      request(server).get(`/api/rooms/${roomId}/bans${query}`).set(bearer(as.accessToken));
    return [
      await get(user, room.id, ''),
      await get(other, room.id, ''),
      await get(user, MISSING_ID, ''),
      await get(user, room.id, '?limit=0'),
    ];
  },
  transferRoomOwnership: async (server, user) => {
    const room = await createRoom({ server, url: server }, user);
    const member = await registerUser({ server, url: server });
    const outsider = await registerUser({ server, url: server });
    await request(server).put(`/api/rooms/${room.id}/members/me`).set(bearer(member.accessToken));
    const transfer = (as: RegisteredUser, roomId: string) =>
      request(server).put(`/api/rooms/${roomId}/owner`).set(bearer(as.accessToken));
    return [
      await transfer(user, room.id).send({ userId: outsider.id }),
      await transfer(outsider, room.id).send({ userId: outsider.id }),
      await transfer(user, MISSING_ID).send({ userId: member.id }),
      await transfer(user, room.id).send({ userId: 'nobody' }),
      await transfer(user, room.id).send({ padding: 'x'.repeat(1_100_000) }),
      await transfer(user, room.id).type('form').send('a=b'),
      await transfer(user, room.id).send({ userId: member.id }),
    ];
  },
  postRoomMessage: async (server, user) => {
    const room = await createRoom({ server, url: server }, user);
    const outsider = await registerUser({ server, url: server });
    const post = (as: RegisteredUser) =>
      request(server)
        .post(`/api/rooms/${room.id}/messages`)
        .set(bearer(as.accessToken))
        .send(aMessage());
    return [await post(user), await post(outsider)];
  },
  listRoomMessages: async (server, user) => {
    const room = await createRoom({ server, url: server }, user, { visibility: 'private' });
    await request(server)
      .post(`/api/rooms/${room.id}/messages`)
      .set(bearer(user.accessToken))
      .send(aMessage());
    const outsider = await registerUser({ server, url: server });
    const get = (as: RegisteredUser, query: string) =>
      request(server).get(`/api/rooms/${room.id}/messages${query}`).set(bearer(as.accessToken));
    return [
      await get(user, '?after=0'),
      await get(user, '?after=0'),
      await get(user, '?before=1.5'),
      await get(outsider, ''),
    ];
  },
  editRoomMessage: async (server, user) => {
    const room = await createRoom({ server, url: server }, user);
    const other = await registerUser({ server, url: server });
    await request(server).put(`/api/rooms/${room.id}/members/me`).set(bearer(other.accessToken));
    const post = (as: RegisteredUser) =>
      request(server)
        .post(`/api/rooms/${room.id}/messages`)
        .set(bearer(as.accessToken))
        .send(aMessage());
    const mine = (await post(user)).body as { id: string };
    const gone = (await post(user)).body as { id: string };
    await request(server)
      .delete(`/api/rooms/${room.id}/messages/${gone.id}`)
      .set(bearer(user.accessToken));
    const patch = (as: RegisteredUser, messageId: string, body: object) =>
      request(server)
        .patch(`/api/rooms/${room.id}/messages/${messageId}`)
        .set(bearer(as.accessToken))
        .send(body);
    return [
      await patch(user, mine.id, { body: 'edited', clientMsgId: 'edit-1' }),
      await patch(other, mine.id, { body: 'not mine' }),
      await patch(user, gone.id, { body: 'too late' }),
      await patch(user, MISSING_ID, { body: 'nothing' }),
      await patch(user, mine.id, { body: '' }),
    ];
  },
  deleteRoomMessage: async (server, user) => {
    const room = await createRoom({ server, url: server }, user);
    const other = await registerUser({ server, url: server });
    await request(server).put(`/api/rooms/${room.id}/members/me`).set(bearer(other.accessToken));
    const message = (
      await request(server)
        .post(`/api/rooms/${room.id}/messages`)
        .set(bearer(user.accessToken))
        .send(aMessage())
    ).body as { id: string };
    const remove = (as: RegisteredUser, messageId: string) =>
      request(server)
        .delete(`/api/rooms/${room.id}/messages/${messageId}`)
        .set(bearer(as.accessToken));
    return [
      await remove(other, message.id),
      await remove(user, message.id),
      await remove(user, message.id),
      await remove(user, MISSING_ID),
      await remove(user, 'not-an-id'),
    ];
  },
  getConsoleFleet: async (server, user) => {
    const get = (token?: string) =>
      request(server)
        .get('/api/console/fleet')
        .set(token ? bearer(token) : {});
    return [
      await get((await operatorOf(server)).accessToken),
      await get(user.accessToken),
      await get(),
    ];
  },
  getConsoleRoom: async (server, user) => {
    const room = await createRoom({ server, url: server }, user);
    const get = (as: RegisteredUser, roomId: string) =>
      request(server).get(`/api/console/rooms/${roomId}`).set(bearer(as.accessToken));
    const ops = await operatorOf(server);
    return [
      await get(ops, room.id),
      await get(ops, MISSING_ID),
      await get(ops, 'not-an-id'),
      await get(user, room.id),
    ];
  },
  disconnectConsoleUser: async (server, user) => {
    const disconnect = (as: RegisteredUser, userId: string) =>
      request(server).post(`/api/console/users/${userId}/disconnect`).set(bearer(as.accessToken));
    const ops = await operatorOf(server);
    return [
      await disconnect(ops, user.id),
      await disconnect(ops, MISSING_ID),
      await disconnect(ops, 'not-an-id'),
      await disconnect(user, ops.id),
    ];
  },
  removeConsoleRoomMember: async (server, user) => {
    const room = await createRoom({ server, url: server }, user);
    const member = await registerUser({ server, url: server });
    await request(server).put(`/api/rooms/${room.id}/members/me`).set(bearer(member.accessToken));
    const remove = (as: RegisteredUser, roomId: string, userId: string) =>
      request(server)
        .delete(`/api/console/rooms/${roomId}/members/${userId}`)
        .set(bearer(as.accessToken));
    const ops = await operatorOf(server);
    return [
      await remove(ops, room.id, member.id),
      await remove(ops, room.id, user.id),
      await remove(ops, MISSING_ID, member.id),
      await remove(ops, room.id, 'nobody'),
      await remove(user, room.id, member.id),
    ];
  },
  checkLiveness: async (server) => [await request(server).get('/health')],
  checkReadiness: async (server) => [await request(server).get('/health/ready')],
  scrapeMetrics: async (server) => [await request(server).get('/metrics')],
} satisfies Record<string, (server: Server, user: RegisteredUser) => Promise<Response[]>>;

/** The statuses each case provokes, in order: proof that it reaches what it means to check. */
const EXPECTED_STATUSES: Record<keyof typeof CASES, number[]> = {
  register: [201, 409, 400, 413, 415],
  login: [200, 401],
  refreshTokens: [200, 401],
  logout: [204, 400],
  getMyProfile: [200, 401, 401],
  getUserProfile: [200, 200, 400, 400, 404, 401],
  postPrivateMessage: [201, 404, 400],
  createRoom: [201, 400, 400],
  listRooms: [200, 400, 400],
  getRoom: [200, 200, 404, 400],
  deleteRoom: [403, 415, 204, 404],
  joinRoom: [204, 404, 413, 415, 403],
  leaveRoom: [409, 413, 415],
  addRoomMember: [201, 403, 400],
  markRoomRead: [200, 403, 404, 400],
  listRoomMembers: [200, 200, 400],
  removeRoomMember: [403, 204, 409, 404, 400],
  banRoomUser: [204, 409, 403, 404, 400],
  unbanRoomUser: [204, 403, 404, 400],
  listRoomBans: [200, 403, 404, 400],
  transferRoomOwnership: [409, 403, 404, 400, 413, 415, 204],
  postRoomMessage: [201, 403],
  listRoomMessages: [200, 200, 400, 404],
  editRoomMessage: [200, 403, 409, 404, 400],
  deleteRoomMessage: [403, 200, 200, 404, 400],
  getConsoleFleet: [200, 403, 401],
  getConsoleRoom: [200, 404, 400, 403],
  disconnectConsoleUser: [200, 404, 400, 403],
  removeConsoleRoomMember: [204, 409, 404, 400, 403],
  checkLiveness: [200],
  checkReadiness: [200],
  scrapeMetrics: [200],
};

describe('the server answers as openapi.json says (e2e)', () => {
  let contract: OpenApiContract;
  let user: RegisteredUser;

  // Before the app starts: compiling the schemas blocks the event loop, which would shed load.
  beforeAll(async () => {
    contract = await OpenApiContract.load();
  });
  const testApp = useTestApp({ environment: { CONSOLE_USERS: OPERATOR_NAME } });
  beforeAll(async () => {
    user = await registerUser(testApp);
  });

  it('has cases for every operation of the document, and for no other', () => {
    expect(Object.keys(CASES).sort()).toEqual(contract.operationIds().sort());
  });

  it.each(Object.keys(CASES) as (keyof typeof CASES)[])('%s', async (operationId) => {
    const responses = await CASES[operationId](testApp.url, user);

    expect(responses.map((response) => response.status)).toEqual(EXPECTED_STATUSES[operationId]);
    for (const response of responses) {
      expect(contract.problems(operationId, response)).toEqual([]);
    }
  });

  it('catches a drift: an undocumented status, header or field fails (positive control)', async () => {
    const response = await request(testApp.server)
      .get('/api/users/me')
      .set(bearer(user.accessToken));
    const drifted = {
      ...response,
      headers: { ...response.headers, 'retry-after': '1' },
      body: { ...response.body, id: 'not-a-uuid' },
    };

    expect(contract.problems('getMyProfile', drifted)).toEqual([
      expect.stringMatching(/^getMyProfile 200 body: \/id /),
      'getMyProfile 200: header retry-after sent but not declared',
    ]);
    expect(contract.problems('getMyProfile', { ...response, status: 418 })).toEqual([
      'getMyProfile answered 418, which is not documented',
    ]);
  });
});

describe('the refusals every route shares match openapi.json (e2e)', () => {
  let contract: OpenApiContract;

  beforeAll(async () => {
    contract = await OpenApiContract.load();
  });

  it('429 from the auth limit and from the default limit', async () => {
    const limited = await startTestApp({
      environment: { THROTTLE_LIMIT: '4', AUTH_THROTTLE_LIMIT: '1' },
    });
    try {
      const login = () => request(limited.server).post('/api/auth/login').send(aRegistration());
      const answers = [await login(), await login()];
      expect(answers.map((r) => r.status)).toEqual([401, 429]);
      answers.forEach((r) => expect(contract.problems('login', r)).toEqual([]));

      const me = () => request(limited.server).get('/api/users/me');
      const more = [await me(), await me(), await me()];
      expect(more.map((r) => r.status)).toEqual([401, 401, 429]);
      more.forEach((r) => expect(contract.problems('getMyProfile', r)).toEqual([]));
    } finally {
      await limited.close();
    }
  });

  it('503 from load shedding, on every shed route', async () => {
    // A heap limit of 1 byte: saturated from the first sample on.
    const shedding = await startTestApp({ environment: { SHED_MAX_HEAP_USED_BYTES: '1' } });
    try {
      await new Promise((resolve) => setTimeout(resolve, 1200));
      const checks: [string, Response][] = [
        [
          'register',
          await request(shedding.server).post('/api/auth/register').send(aRegistration()),
        ],
        ['getMyProfile', await request(shedding.server).get('/api/users/me')],
        ['getRoom', await request(shedding.server).get(`/api/rooms/${MISSING_ID}`)],
        ['checkReadiness', await request(shedding.server).get('/health/ready')],
      ];
      for (const [operationId, response] of checks) {
        expect(response.status).toBe(503);
        expect(contract.problems(operationId, response)).toEqual([]);
      }
    } finally {
      await shedding.close();
    }
  });

  it('401 from /metrics without its token', async () => {
    const guarded = await startTestApp({
      environment: { METRICS_TOKEN: 'a-metrics-token-of-32-characters' },
    });
    try {
      const response = await request(guarded.server).get('/metrics').expect(401);
      expect(response.headers['www-authenticate']).toBe('Bearer');
      expect(contract.problems('scrapeMetrics', response)).toEqual([]);
    } finally {
      await guarded.close();
    }
  });
});
