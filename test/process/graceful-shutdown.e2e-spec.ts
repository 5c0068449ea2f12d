import { Agent, ClientRequest, IncomingHttpHeaders, request as httpRequest } from 'node:http';
import { CloseCode } from '@libs/client';
import { aRegistration } from '@test/factories/user.factory';
import { registerUser } from '@test/support/auth-helpers';
import { acceptsConnections } from '@test/support/network';
import { createServerSetup, ServerProcess, ServerSetup } from '@test/support/server-process';
import { waitUntil } from '@test/support/wait-until';
import { WsTestClient } from '@test/support/ws-test-client';

const SHUTDOWN_TIMEOUT_MS = 5000;
const IN_FLIGHT_REQUESTS = 3;

interface HeldResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A POST that the server has begun and cannot finish until the test says so: it goes out with
 * `Expect: 100-continue` and without its body. Once `received` settles the server has read the
 * headers and answered 100 Continue, so the request is in flight there; `finish()` sends the body.
 */
class HeldRequest {
  readonly received: Promise<void>;
  private readonly response: Promise<HeldResponse>;
  private readonly call: ClientRequest;
  private readonly body: string;

  constructor(agent: Agent, url: string, path: string, payload: unknown) {
    this.body = JSON.stringify(payload);
    const target = new URL(path, url);
    this.call = httpRequest({
      agent,
      host: target.hostname,
      port: target.port,
      method: 'POST',
      path: target.pathname,
      headers: {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(this.body),
        Expect: '100-continue',
      },
      timeout: SHUTDOWN_TIMEOUT_MS * 2,
    });
    this.call.once('timeout', () => this.call.destroy(new Error('No response in time')));
    this.received = new Promise((resolve, reject) => {
      this.call.once('continue', resolve);
      this.call.once('error', reject);
    });
    this.response = new Promise((resolve, reject) => {
      this.call.once('error', reject);
      this.call.once('response', (incoming) => {
        let text = '';
        incoming.setEncoding('utf8');
        incoming.on('data', (chunk: string) => (text += chunk));
        incoming.once('end', () =>
          resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, body: text }),
        );
      });
    });
    // Awaited through finish(); this only keeps an early failure from being unhandled.
    this.response.catch(() => undefined);
    this.call.flushHeaders();
  }

  finish(): Promise<HeldResponse> {
    this.call.end(this.body);
    return this.response;
  }
}

/**
 * `exitGracefullyOnSignals` and HttpDrain on the real process: SIGTERM while requests are in
 * flight and a WebSocket client is connected.
 */
describe('graceful shutdown on SIGTERM (process)', () => {
  let setup: ServerSetup;
  let server: ServerProcess;
  // Keep-alive, as browsers and load balancers connect: the drain must not wait for idle sockets.
  const agent = new Agent({ keepAlive: true });

  beforeAll(async () => {
    setup = await createServerSetup({ SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) });
    server = await ServerProcess.start(setup.environment);
  });

  afterAll(async () => {
    agent.destroy();
    await server?.kill();
    await setup?.remove();
  });

  it('finishes in-flight requests, refuses new connections, closes sockets with 1001, exits 0', async () => {
    const user = await registerUser(server);
    const socket = await WsTestClient.connect(server.url, { token: user.accessToken });
    const inFlight = Array.from(
      { length: IN_FLIGHT_REQUESTS },
      () => new HeldRequest(agent, server.url, '/api/auth/register', aRegistration()),
    );
    await Promise.all(inFlight.map((held) => held.received));

    const signalledAt = Date.now();
    server.signal('SIGTERM');

    expect((await socket.closed).code).toBe(CloseCode.GoingAway);
    await waitUntil(
      async () => !(await acceptsConnections(server.port)),
      SHUTDOWN_TIMEOUT_MS,
      'the port to refuse new connections',
    );

    // The bodies arrive only now: each register (an argon2 hash, a database write) runs while
    // the server drains, and answers as it would have before.
    const responses = await Promise.all(inFlight.map((held) => held.finish()));
    for (const response of responses) {
      expect(response.status).toBe(201);
      expect(JSON.parse(response.body)).toMatchObject({
        accessToken: expect.any(String),
        refreshToken: expect.any(String),
      });
      // The client is told not to reuse the connection.
      expect(response.headers.connection).toBe('close');
    }

    expect(await server.waitForExit(SHUTDOWN_TIMEOUT_MS)).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalledAt).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
  });
});
