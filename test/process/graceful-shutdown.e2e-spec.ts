import { Agent, request as httpRequest } from 'node:http';
import { CloseCode } from '@libs/client';
import { aMessage } from '@test/factories/room.factory';
import { aRegistration } from '@test/factories/user.factory';
import { bearer, registerUser } from '@test/support/auth-helpers';
import { HeldRequest, HeldResponse } from '@test/support/held-request';
import { acceptsConnections } from '@test/support/network';
import { createRoom } from '@test/support/room-helpers';
import { createServerSetup, ServerProcess, ServerSetup } from '@test/support/server-process';
import { waitUntil } from '@test/support/wait-until';
import { WsTestClient } from '@test/support/ws-test-client';

const SHUTDOWN_TIMEOUT_MS = 8000;
/** Long enough to probe readiness and the routes within it on a busy machine. */
const DRAIN_DELAY_MS = 1500;
const IN_FLIGHT_REQUESTS = 3;
const READS_BEFORE_SIGTERM = 100;
const POSTS_BEFORE_SIGTERM = 20;

/** One request on a connection of its own (as many clients arrive), whatever the answer. */
function sendOnce(
  url: string,
  method: string,
  path: string,
  token: string,
  payload?: unknown,
): Promise<HeldResponse> {
  const target = new URL(path, url);
  const text = payload === undefined ? undefined : JSON.stringify(payload);
  return new Promise((resolve, reject) => {
    const call = httpRequest(
      {
        agent: false,
        host: target.hostname,
        port: target.port,
        method,
        path: target.pathname,
        headers: {
          ...bearer(token),
          ...(text === undefined
            ? {}
            : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) }),
        },
        timeout: SHUTDOWN_TIMEOUT_MS * 2,
      },
      (incoming) => {
        let received = '';
        incoming.setEncoding('utf8');
        incoming.on('data', (chunk: string) => (received += chunk));
        incoming.once('end', () =>
          resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, body: received }),
        );
      },
    );
    call.once('timeout', () => call.destroy(new Error('No response in time')));
    call.once('error', reject);
    call.end(text);
  });
}

/**
 * `exitGracefullyOnSignals` on the real process: what a load balancer and the clients see of
 * SIGTERM, step by step.
 */
describe('graceful shutdown on SIGTERM (process)', () => {
  let setup: ServerSetup;
  let server: ServerProcess | undefined;
  // Keep-alive, as browsers and load balancers connect: the drain must not wait for idle sockets.
  const agent = new Agent({ keepAlive: true });

  beforeAll(async () => {
    setup = await createServerSetup({
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      SHUTDOWN_DRAIN_DELAY_MS: String(DRAIN_DELAY_MS),
      LOG_LEVEL: 'info',
    });
  });

  beforeEach(async () => {
    server = await ServerProcess.start(setup.environment);
  });

  afterEach(async () => {
    await server?.kill();
  });

  afterAll(async () => {
    agent.destroy();
    await setup?.remove();
  });

  it('readiness 503 at once, serves through the delay, then closes the port, finishes in-flight requests, then WebSockets (1001), then exits 0', async () => {
    const running = server!;
    const user = await registerUser(running);
    const socket = await WsTestClient.connect(running.url, { token: user.accessToken });
    const inFlight = Array.from(
      { length: IN_FLIGHT_REQUESTS },
      () => new HeldRequest(agent, running.url, '/api/auth/register', aRegistration()),
    );
    await Promise.all(inFlight.map((held) => held.received));
    expect((await fetch(`${running.url}/health/ready`)).status).toBe(200);
    // An idle keep-alive connection: closed after its grace, which must leave the WebSocket be.
    const idle = new Agent({ keepAlive: true });
    expect(
      (await new HeldRequest(idle, running.url, '/api/auth/register', aRegistration()).finish())
        .status,
    ).toBe(201);

    const signalledAt = Date.now();
    running.signal('SIGTERM');

    // The delay: readiness says go away, everything else still answers, new connections too.
    await waitUntil(
      async () => (await fetch(`${running.url}/health/ready`)).status === 503,
      DRAIN_DELAY_MS,
      'readiness to answer 503',
    );
    const readiness = await fetch(`${running.url}/health/ready`);
    expect(await readiness.json()).toMatchObject({ status: 'shutting_down' });
    const duringDelay = await sendOnce(running.url, 'GET', '/api/users/me', user.accessToken);
    expect(duringDelay.status).toBe(200);
    expect(Date.now() - signalledAt).toBeLessThan(DRAIN_DELAY_MS);

    await waitUntil(
      async () => !(await acceptsConnections(running.port)),
      SHUTDOWN_TIMEOUT_MS,
      'the port to refuse new connections',
    );
    expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(DRAIN_DELAY_MS);
    // The WebSocket is still served while HTTP requests are in flight.
    expect((await socket.request('ping', {}, 'pong')).event).toBe('pong');

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

    expect((await socket.closed).code).toBe(CloseCode.GoingAway);
    expect(await running.waitForExit(SHUTDOWN_TIMEOUT_MS)).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalledAt).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
    idle.destroy();
    expect(running.drainSteps()).toEqual([
      `drain: readiness answers 503; serving for ${DRAIN_DELAY_MS} ms more`,
      'drain: stopped accepting connections',
      'drain: in-flight HTTP requests finished',
      'drain: WebSockets closed (1001)',
      'drain: Redis and the database closed',
    ]);
  });

  it(`answers all of ${READS_BEFORE_SIGTERM} reads and ${POSTS_BEFORE_SIGTERM} posts fired just before SIGTERM, each on a new connection`, async () => {
    const running = server!;
    const user = await registerUser(running);
    const room = await createRoom(running, user);

    const reads = Array.from({ length: READS_BEFORE_SIGTERM }, () =>
      sendOnce(running.url, 'GET', '/api/users/me', user.accessToken),
    );
    const posts = Array.from({ length: POSTS_BEFORE_SIGTERM }, () =>
      sendOnce(running.url, 'POST', `/api/rooms/${room.id}/messages`, user.accessToken, aMessage()),
    );
    await new Promise((resolve) => setTimeout(resolve, 5));
    running.signal('SIGTERM');

    const readAnswers = await Promise.all(reads);
    const postAnswers = await Promise.all(posts);
    expect(readAnswers.map((answer) => answer.status)).toEqual(
      Array(READS_BEFORE_SIGTERM).fill(200),
    );
    expect(postAnswers.map((answer) => answer.status)).toEqual(
      Array(POSTS_BEFORE_SIGTERM).fill(201),
    );
    const seqs = postAnswers.map((answer) => (JSON.parse(answer.body) as { seq: number }).seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(
      Array.from({ length: POSTS_BEFORE_SIGTERM }, (_, index) => index + 1),
    );

    // The drain did happen: the port closes and the process exits 0.
    expect(await running.waitForExit(SHUTDOWN_TIMEOUT_MS)).toEqual({ code: 0, signal: null });
    await expect(
      sendOnce(running.url, 'GET', '/api/users/me', user.accessToken),
    ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('SIGINT (Ctrl-C) drains without the delay', async () => {
    const running = server!;
    const signalledAt = Date.now();
    running.signal('SIGINT');

    expect(await running.waitForExit(SHUTDOWN_TIMEOUT_MS)).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalledAt).toBeLessThan(DRAIN_DELAY_MS);
    expect(running.drainSteps()[0]).toBe('drain: readiness answers 503; serving for 0 ms more');
  });
});
