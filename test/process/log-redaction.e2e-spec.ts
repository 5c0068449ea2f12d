import { randomBytes } from 'node:crypto';
import request, { Response } from 'supertest';
import { bearer, registerUser } from '@test/support/auth-helpers';
import {
  createServerSetup,
  LogLine,
  ServerProcess,
  ServerSetup,
} from '@test/support/server-process';
import { waitUntil } from '@test/support/wait-until';
import { WsTestClient } from '@test/support/ws-test-client';

const REQUEST_ID_HEADER = 'x-request-id';

/** The request line pino-http wrote for the response that carried this request id. */
function requestLine(lines: LogLine[], response: Response): LogLine | undefined {
  const id = response.headers[REQUEST_ID_HEADER] as string | undefined;
  return lines.find((line) => line.msg === 'request completed' && line.requestId === id);
}

/**
 * PRODUCT.md: tokens never appear in logs. A real server process at LOG_LEVEL=info goes through
 * every place a secret travels (bodies, the Authorization header, `?token=`, an `auth` frame);
 * its whole output is then searched for each of them.
 */
describe('secrets in the log (process)', () => {
  let setup: ServerSetup;
  let server: ServerProcess;

  beforeAll(async () => {
    setup = await createServerSetup({ LOG_LEVEL: 'info' });
    server = await ServerProcess.start(setup.environment);
  });

  afterAll(async () => {
    await server?.kill();
    await setup?.remove();
  });

  it('logs each request with its id and none of the passwords or tokens', async () => {
    const user = await registerUser(server);
    const wrongPassword = `wrong-${randomBytes(8).toString('hex')}`;
    const failedLogin = await request(server.url)
      .post('/api/auth/login')
      .send({ username: user.registration.username, password: wrongPassword })
      .expect(401);
    const login = await request(server.url)
      .post('/api/auth/login')
      .send(user.registration)
      .expect(200);
    const refresh = await request(server.url)
      .post('/api/auth/refresh')
      .send({ refreshToken: login.body.refreshToken })
      .expect(200);
    const refreshed = refresh.body as { accessToken: string; refreshToken: string };
    const me = await request(server.url)
      .get('/api/users/me')
      .set(bearer(refreshed.accessToken))
      .expect(200);
    // A token in the query string of an HTTP route (refused there: a cached route takes no
    // undeclared query parameter): the logged URL must not carry it either.
    const meWithQueryToken = await request(server.url)
      .get('/api/users/me')
      .query({ token: refreshed.accessToken })
      .set(bearer(refreshed.accessToken))
      .expect(400);
    const socket = await WsTestClient.connect(server.url, {
      token: refreshed.accessToken,
      tokenInQuery: true,
    });
    await socket.request('auth', { token: login.body.accessToken }, 'authed');
    await socket.closeAndWait();
    // A spent refresh token: refused, and the whole login revoked (a path that may log).
    const replay = await request(server.url)
      .post('/api/auth/refresh')
      .send({ refreshToken: login.body.refreshToken })
      .expect(401);
    // Stopping flushes whatever the logger still holds.
    await server.stop();

    const secrets: Record<string, string> = {
      password: user.registration.password,
      'wrong password': wrongPassword,
      'JWT secret': setup.environment.JWT_SECRET,
    };
    const tokens = {
      'register access token': user.accessToken,
      'register refresh token': user.refreshToken,
      'login access token': login.body.accessToken as string,
      'login refresh token': login.body.refreshToken as string,
      'refreshed access token': refreshed.accessToken,
      'refreshed refresh token': refreshed.refreshToken,
    };
    for (const [name, token] of Object.entries(tokens)) {
      secrets[name] = token;
      // The signature of a JWT, the secret half of a refresh token: a logged fragment leaks too.
      secrets[`${name} (last part)`] = token.split('.').at(-1)!;
    }
    // Lines are written in batches, at the latest 100 ms after they were logged.
    await waitUntil(
      () => requestLine(server.logLines(), replay) !== undefined,
      5_000,
      'the last request line',
    );
    const output = server.output;
    expect(Object.keys(secrets).filter((name) => output.includes(secrets[name]))).toEqual([]);

    const lines = server.logLines();
    const expectedLines: [Response, string, string, number][] = [
      [failedLogin, 'POST', '/api/auth/login', 401],
      [login, 'POST', '/api/auth/login', 200],
      [refresh, 'POST', '/api/auth/refresh', 200],
      [me, 'GET', '/api/users/me', 200],
      [meWithQueryToken, 'GET', '/api/users/me?token=[redacted]', 400],
      [replay, 'POST', '/api/auth/refresh', 401],
    ];
    for (const [response, method, url, statusCode] of expectedLines) {
      expect(requestLine(lines, response)).toMatchObject({
        req: { id: response.headers[REQUEST_ID_HEADER], method, url },
        res: { statusCode },
      });
    }
    // The header is there, its value is not.
    expect(requestLine(lines, me)?.req).toMatchObject({
      headers: { authorization: '[redacted]' },
    });
  });
});
