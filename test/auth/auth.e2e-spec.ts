import request from 'supertest';
import { getMyProfile, getUserProfile, login, logout, refreshTokens, register } from '@libs/client';
import { apiClient, expectStatus } from '@test/support/api-client';
import { MISSING_ID } from '@test/factories/ids';
import { aRegistration } from '@test/factories/user.factory';
import { bearer, registerUser } from '@test/support/auth-helpers';
import { startTestApp, useTestApp } from '@test/support/test-app';

describe('auth and users (e2e)', () => {
  const testApp = useTestApp();

  const http = () => request(testApp.server);

  it('register → login → me → refresh → logout', async () => {
    const registration = aRegistration({ displayName: '  Alice Liddell ' });

    const anonymous = apiClient(testApp);

    const registered = await expectStatus(register({ client: anonymous, body: registration }), 201);
    expect(registered).toEqual({
      accessToken: expect.any(String),
      refreshToken: expect.any(String),
      user: {
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        username: registration.username,
        displayName: 'Alice Liddell',
        createdAt: expect.any(String),
      },
    });

    const { username, password } = registration;
    const session = await expectStatus(
      login({ client: anonymous, body: { username, password } }),
      200,
    );
    expect(session.user).toEqual(registered.user);

    const me = await expectStatus(
      getMyProfile({ client: apiClient(testApp, session.accessToken) }),
      200,
    );
    expect(me).toEqual(registered.user);

    const refreshed = await expectStatus(
      refreshTokens({ client: anonymous, body: { refreshToken: session.refreshToken } }),
      200,
    );
    expect(refreshed).toEqual({
      accessToken: expect.any(String),
      refreshToken: expect.any(String),
    });
    expect(refreshed.refreshToken).not.toEqual(session.refreshToken);
    await expectStatus(getMyProfile({ client: apiClient(testApp, refreshed.accessToken) }), 200);

    await expectStatus(
      logout({ client: anonymous, body: { refreshToken: refreshed.refreshToken } }),
      204,
    );
    await expectStatus(
      refreshTokens({ client: anonymous, body: { refreshToken: refreshed.refreshToken } }),
      401,
    );
  });

  it('never returns a password hash or an internal column', async () => {
    const user = await registerUser(testApp);

    const responses = [
      (await http().get('/api/users/me').set(bearer(user.accessToken))).text,
      (await http().get(`/api/users/${user.id}`).set(bearer(user.accessToken))).text,
      (
        await http()
          .post('/api/auth/login')
          .send({ username: user.registration.username, password: user.registration.password })
      ).text,
    ];

    for (const text of responses) {
      expect(text).not.toMatch(/passwordHash|usernameKey|\$argon2|updatedAt/);
    }
  });

  it('shows a public profile by id, and 404 for an unknown id', async () => {
    const alice = await registerUser(testApp);
    const bob = await registerUser(testApp);

    const client = apiClient(testApp, alice.accessToken);

    const profile = await expectStatus(getUserProfile({ client, path: { id: bob.id } }), 200);
    expect(profile).toEqual({
      id: bob.id,
      username: bob.registration.username,
      displayName: bob.registration.username,
      createdAt: expect.any(String),
    });

    const missing = await getUserProfile({ client, path: { id: MISSING_ID } });
    expect(missing.response.status).toBe(404);
    expect(missing.error).toMatchObject({ statusCode: 404, error: 'Not Found' });
  });

  it('409 when the name is taken, whatever its case', async () => {
    const user = await registerUser(testApp);

    const response = await http()
      .post('/api/auth/register')
      .send(aRegistration({ username: user.registration.username.toUpperCase() }))
      .expect(409);
    expect(response.body).toMatchObject({
      statusCode: 409,
      error: 'Conflict',
      code: 'username_taken',
    });
  });

  it('of concurrent registrations of one name, exactly one succeeds', async () => {
    const registration = aRegistration();

    const statuses = await Promise.all(
      Array.from({ length: 5 }, () => http().post('/api/auth/register').send(registration)),
    ).then((responses) => responses.map((response) => response.status).sort());

    expect(statuses).toEqual([201, 409, 409, 409, 409]);
  });

  it('answers a wrong password and an unknown name the same way', async () => {
    const user = await registerUser(testApp);

    const wrongPassword = await http()
      .post('/api/auth/login')
      .send({ username: user.registration.username, password: 'not the right password' })
      .expect(401);
    const unknownName = await http()
      .post('/api/auth/login')
      .send({ username: 'nobody-by-this-name', password: 'not the right password' })
      .expect(401);

    const { requestId: _a, ...first } = wrongPassword.body;
    const { requestId: _b, ...second } = unknownName.body;
    expect(first).toEqual(second);
    expect(first).toEqual({
      statusCode: 401,
      error: 'Unauthorized',
      message: 'Wrong username or password',
      code: 'invalid_credentials',
    });
  });

  it('a spent refresh token revokes the whole login', async () => {
    const user = await registerUser(testApp);
    const first = await http()
      .post('/api/auth/refresh')
      .send({ refreshToken: user.refreshToken })
      .expect(200);

    // The original token is spent: presenting it again is a replay.
    await http().post('/api/auth/refresh').send({ refreshToken: user.refreshToken }).expect(401);

    // The newest token of that login no longer works either.
    await http()
      .post('/api/auth/refresh')
      .send({ refreshToken: first.body.refreshToken })
      .expect(401);
  });

  it('a replay revokes only that login, not the user’s other ones', async () => {
    const user = await registerUser(testApp);
    const otherLogin = await http()
      .post('/api/auth/login')
      .send({ username: user.registration.username, password: user.registration.password })
      .expect(200);
    await http().post('/api/auth/refresh').send({ refreshToken: user.refreshToken }).expect(200);
    await http().post('/api/auth/refresh').send({ refreshToken: user.refreshToken }).expect(401);

    await http()
      .post('/api/auth/refresh')
      .send({ refreshToken: otherLogin.body.refreshToken })
      .expect(200);
  });

  it('of concurrent refreshes with one token, exactly one succeeds', async () => {
    const user = await registerUser(testApp);

    const statuses = await Promise.all(
      Array.from({ length: 4 }, () =>
        http().post('/api/auth/refresh').send({ refreshToken: user.refreshToken }),
      ),
    ).then((responses) => responses.map((response) => response.status));

    expect([...statuses].sort()).toEqual([200, 401, 401, 401]);
  });

  it('401 for a malformed or forged refresh token', async () => {
    await http().post('/api/auth/refresh').send({ refreshToken: 'garbage' }).expect(401);
    await http()
      .post('/api/auth/refresh')
      .send({
        refreshToken: `${MISSING_ID}.${'A'.repeat(43)}`,
      })
      .expect(401);
  });

  it('logout is idempotent', async () => {
    const user = await registerUser(testApp);

    await http().post('/api/auth/logout').send({ refreshToken: user.refreshToken }).expect(204);
    await http().post('/api/auth/logout').send({ refreshToken: user.refreshToken }).expect(204);
  });

  describe('401 on authenticated routes', () => {
    it.each([
      ['no Authorization header', undefined],
      ['a non-bearer scheme', 'Basic YWxpY2U6c2VjcmV0'],
      ['a malformed token', 'Bearer not-a-jwt'],
      [
        'a token signed with another key',
        'Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ4Iiwic2lkIjoieSIsImV4cCI6NDEwMjQ0NDgwMH0.3bK6Q2pJ6H0rjv3s8cZ2d4p8l2l0E0o8x8mI2y4Z1yE',
      ],
    ])('with %s', async (_case, authorization) => {
      const call = http().get('/api/users/me');
      if (authorization) {
        call.set('Authorization', authorization);
      }
      const response = await call.expect(401);
      expect(response.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    });

    it('with an expired token', async () => {
      const shortLived = await startTestApp({ environment: { JWT_TTL: '1s' } });
      try {
        const user = await registerUser(shortLived);
        await new Promise((resolve) => setTimeout(resolve, 2100));
        await request(shortLived.server)
          .get('/api/users/me')
          .set(bearer(user.accessToken))
          .expect(401);
      } finally {
        await shortLived.close();
      }
    });
  });

  describe('validation', () => {
    it('names every bad field', async () => {
      const response = await http()
        .post('/api/auth/register')
        .send({ username: 'a', password: 'short', displayName: '' })
        .expect(400);

      expect(response.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
      const fields = (response.body.details as { field: string }[]).map((detail) => detail.field);
      expect(new Set(fields)).toEqual(new Set(['username', 'password', 'displayName']));
      expect(response.body.message).toMatch(
        /password must be longer than or equal to 12 characters/,
      );
    });

    it('refuses unknown fields', async () => {
      const response = await http()
        .post('/api/auth/register')
        .send({ ...aRegistration(), isAdmin: true })
        .expect(400);

      expect(response.body.details).toEqual([
        { field: 'isAdmin', message: 'property isAdmin should not exist' },
      ]);
    });

    it('refuses a missing body', async () => {
      const response = await http().post('/api/auth/login').expect(400);

      const fields = (response.body.details as { field: string }[]).map((detail) => detail.field);
      expect(new Set(fields)).toEqual(new Set(['username', 'password']));
    });
  });
});
