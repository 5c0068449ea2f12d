import { randomBytes, randomUUID } from 'node:crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { CloseCode } from '@libs/client';
import { User } from '@app/users/user.entity';
import { claimsOf, signAccessToken } from '@test/support/access-token-forgery';
import { bearer, logInAgain, registerUser } from '@test/support/auth-helpers';
import { useTestApp } from '@test/support/test-app';
import { waitUntil } from '@test/support/wait-until';
import { WsTestClient } from '@test/support/ws-test-client';

const JWT_SECRET = `ended-logins-${randomBytes(16).toString('hex')}`;
const aSecret = () => randomBytes(32).toString('base64url');

describe('ended logins (e2e)', () => {
  const testApp = useTestApp({ environment: { JWT_SECRET } });

  const http = () => request(testApp.server);
  const readMe = (token: string) => http().get('/api/users/me').set(bearer(token));

  describe('a refresh token with the right session id and a wrong secret', () => {
    it('cannot log anyone out: 401, and the login goes on', async () => {
      const user = await registerUser(testApp);
      const { sid } = claimsOf(user.accessToken);

      const response = await http()
        .post('/api/auth/logout')
        .send({ refreshToken: `${sid}.${aSecret()}` })
        .expect(401);

      expect(response.body).toMatchObject({ code: 'invalid_refresh_token' });
      await readMe(user.accessToken).expect(200);
      await http().post('/api/auth/refresh').send({ refreshToken: user.refreshToken }).expect(200);
    });

    it('cannot refresh, and revokes nothing', async () => {
      const user = await registerUser(testApp);
      const { sid } = claimsOf(user.accessToken);

      await http()
        .post('/api/auth/refresh')
        .send({ refreshToken: `${sid}.${aSecret()}` })
        .expect(401);

      await readMe(user.accessToken).expect(200);
      await http().post('/api/auth/refresh').send({ refreshToken: user.refreshToken }).expect(200);
    });
  });

  it('a spent refresh token presented again ends the login, its newest tokens included', async () => {
    const user = await registerUser(testApp);
    const newest = await http()
      .post('/api/auth/refresh')
      .send({ refreshToken: user.refreshToken })
      .expect(200);
    await readMe(newest.body.accessToken).expect(200);

    await http().post('/api/auth/refresh').send({ refreshToken: user.refreshToken }).expect(401);

    await readMe(newest.body.accessToken).expect(401);
    await http()
      .post('/api/auth/refresh')
      .send({ refreshToken: newest.body.refreshToken })
      .expect(401);
  });

  it('after logout, the access token and the WebSocket of that login are refused at once', async () => {
    const user = await registerUser(testApp);
    const otherLogin = await logInAgain(testApp, user);
    const ended = await WsTestClient.connect(testApp.url, { token: user.accessToken });
    const kept = await WsTestClient.connect(testApp.url, { token: otherLogin.accessToken });

    await http().post('/api/auth/logout').send({ refreshToken: user.refreshToken }).expect(204);

    await readMe(user.accessToken).expect(401);
    expect((await ended.closed).code).toBe(CloseCode.TokenExpired);
    const upgrade = await WsTestClient.tryConnect(testApp.url, { token: user.accessToken });
    expect(upgrade).toMatchObject({ accepted: false, status: 401 });
    // The user's other login is untouched.
    await readMe(otherLogin.accessToken).expect(200);
    await expect(kept.request('ping', {}, 'pong')).resolves.toMatchObject({ event: 'pong' });
    await kept.closeAndWait();
  });

  it('the auth frame refuses a token of an ended login', async () => {
    const user = await registerUser(testApp);
    const spare = await logInAgain(testApp, user);
    const client = await WsTestClient.connect(testApp.url, { token: user.accessToken });
    await http().post('/api/auth/logout').send({ refreshToken: spare.refreshToken }).expect(204);

    client.send('auth', { token: spare.accessToken });

    expect((await client.next('error')).data).toMatchObject({ code: 'unauthenticated' });
    client.send('auth', { token: user.accessToken });
    await client.next('authed');
    await client.closeAndWait();
  });

  it('a token of a deleted user is refused within seconds, REST and upgrade alike', async () => {
    const user = await registerUser(testApp);
    await readMe(user.accessToken).expect(200);

    await testApp.app.get(DataSource).getRepository(User).delete({ id: user.id });

    await waitUntil(
      async () => (await readMe(user.accessToken)).status === 401,
      10_000,
      'the deleted user refused',
    );
    const upgrade = await WsTestClient.tryConnect(testApp.url, { token: user.accessToken });
    expect(upgrade).toMatchObject({ accepted: false, status: 401 });
  });

  it.each([
    ['an unknown user and session', () => ({ sub: randomUUID(), sid: randomUUID() })],
    ['a sub that is not a UUID', () => ({ sub: 'not-a-uuid', sid: randomUUID() })],
  ])('a well-signed token of %s is a 401 everywhere, never a 500', async (_case, claims) => {
    const token = signAccessToken(JWT_SECRET, claims());
    const user = await registerUser(testApp);

    await readMe(token).expect(401);
    await http().get(`/api/users/${user.id}`).set(bearer(token)).expect(401);
    await http()
      .post('/api/rooms')
      .set(bearer(token))
      .send({ name: 'x', visibility: 'public' })
      .expect(401);
    const upgrade = await WsTestClient.tryConnect(testApp.url, { token });
    expect(upgrade).toMatchObject({ accepted: false, status: 401 });
    // The same route with a live login's token answers.
    await readMe(user.accessToken).expect(200);
  });
});
