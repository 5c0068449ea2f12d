import request from 'supertest';
import { CloseCode } from '@libs/client';
import { bearer, registerUser } from '@test/support/auth-helpers';
import { requireTestRedisUrl } from '@test/support/test-redis';
import { startTestFleet, TestFleet } from '@test/support/test-app';
import { WsTestClient } from '@test/support/ws-test-client';

/** The bus carries an ended login; the per-instance cache's TTL is only the backstop. */
const WITHIN_MS = 1_000;

describe('an ended login across a fleet (services)', () => {
  let fleet: TestFleet;

  beforeAll(async () => {
    requireTestRedisUrl();
    fleet = await startTestFleet(2);
  });

  afterAll(async () => {
    await fleet?.close();
  });

  it('logout on one instance refuses the access token and closes its sockets on the other', async () => {
    const [first, second] = fleet.apps;
    const user = await registerUser(first);
    const readMe = (token: string) =>
      request(second.server).get('/api/users/me').set(bearer(token));
    // The other instance has the login cached as live.
    await readMe(user.accessToken).expect(200);
    const socket = await WsTestClient.connect(second.url, { token: user.accessToken });
    const stranger = await registerUser(first);

    const loggedOutAt = Date.now();
    await request(first.server)
      .post('/api/auth/logout')
      .send({ refreshToken: user.refreshToken })
      .expect(204);

    expect((await socket.closed).code).toBe(CloseCode.TokenExpired);
    await readMe(user.accessToken).expect(401);
    expect(Date.now() - loggedOutAt).toBeLessThan(WITHIN_MS);
    await readMe(stranger.accessToken).expect(200);
  });
});
