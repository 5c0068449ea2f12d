import { CloseCode } from '@libs/client';
import { registerUser } from '@test/support/auth-helpers';
import { RawUpgrade } from '@test/support/raw-upgrade';
import { createServerSetup, ServerProcess, ServerSetup } from '@test/support/server-process';
import { WsTestClient } from '@test/support/ws-test-client';

/** The production defaults: the drain delay takes half of the deadline. */
const SHUTDOWN_TIMEOUT_MS = 10_000;
const DEFAULT_DRAIN_DELAY_MS = 5_000;
/** Long enough to complete an upgrade within it on a busy machine. */
const SHORT_DRAIN_DELAY_MS = 1_500;

/** The shutdown's own log lines (context `Shutdown`), in the order written. */
function drainSteps(server: ServerProcess): string[] {
  return server
    .logLines()
    .filter((line) => line.context === 'Shutdown' && line.msg?.startsWith('drain: '))
    .map((line) => String(line.msg));
}

/**
 * SIGTERM with WebSockets that do not go quietly: a peer that never answers the close frame, and
 * an upgrade that is still arriving while the server drains. The process must still close Redis
 * and the database and exit 0 within SHUTDOWN_TIMEOUT_MS.
 */
describe('drain with WebSockets that do not answer (process)', () => {
  let setup: ServerSetup;
  let server: ServerProcess | undefined;
  const raws: RawUpgrade[] = [];

  const start = (drainDelayMs: number) =>
    ServerProcess.start({
      ...setup.environment,
      SHUTDOWN_DRAIN_DELAY_MS: String(drainDelayMs),
    });

  beforeAll(async () => {
    setup = await createServerSetup({
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      LOG_LEVEL: 'info',
    });
  });

  afterEach(async () => {
    raws.splice(0).forEach((raw) => raw.destroy());
    await server?.kill();
  });

  afterAll(async () => {
    await setup?.remove();
  });

  const openRaw = async (url: string, token: string) => {
    const raw = await RawUpgrade.open(url, token);
    raws.push(raw);
    return raw;
  };

  it('cuts a half-open client off within the deadline and exits 0; a normal client gets 1001', async () => {
    server = await start(DEFAULT_DRAIN_DELAY_MS);
    const user = await registerUser(server);
    const normal = await WsTestClient.connect(server.url, { token: user.accessToken });
    const halfOpen = await openRaw(server.url, user.accessToken);
    expect((await halfOpen.upgrade()).status).toBe(101);
    halfOpen.stopReading();
    expect((await normal.request('ping', {}, 'pong')).event).toBe('pong');

    const signalledAt = Date.now();
    server.signal('SIGTERM');

    expect(await server.waitForExit(SHUTDOWN_TIMEOUT_MS + 2_000)).toEqual({
      code: 0,
      signal: null,
    });
    expect(Date.now() - signalledAt).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
    expect((await normal.closed).code).toBe(CloseCode.GoingAway);
    // The half-open one was cut off (it never reads, so only the server can tell), in time for
    // Redis and the database to close.
    expect(drainSteps(server)).toEqual([
      `drain: readiness answers 503; serving for ${DEFAULT_DRAIN_DELAY_MS} ms more`,
      'drain: stopped accepting connections',
      'drain: in-flight HTTP requests finished',
      'drain: WebSockets closed (1001), 1 cut off without an answer',
      'drain: Redis and the database closed',
    ]);
    expect(server.output).not.toContain('Shutdown took longer than');
  });

  it('accepts upgrades through the drain delay, refuses one still arriving when the port closed (503 + Retry-After)', async () => {
    server = await start(SHORT_DRAIN_DELAY_MS);
    const running = server;
    const user = await registerUser(running);
    const normal = await WsTestClient.connect(running.url, { token: user.accessToken });
    const duringDelay = await openRaw(running.url, user.accessToken);
    const inFlight = await openRaw(running.url, user.accessToken);
    inFlight.sendHeaders();

    running.signal('SIGTERM');
    await running.waitForLogLines(
      (line) => line.msg === 'drain: readiness answers 503; serving for 1500 ms more',
      1,
      SHORT_DRAIN_DELAY_MS,
      'the drain to begin',
    );
    // Positive control: within the delay an upgrade is served as before.
    expect((await duringDelay.upgrade()).status).toBe(101);
    await running.waitForLogLines(
      (line) => line.msg === 'drain: stopped accepting connections',
      1,
      SHUTDOWN_TIMEOUT_MS,
      'the port to close',
    );
    const refused = await inFlight.finishRequest();

    expect(refused.status).toBe(503);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await normal.closed).code).toBe(CloseCode.GoingAway);
    expect(await running.waitForExit(SHUTDOWN_TIMEOUT_MS)).toEqual({ code: 0, signal: null });
  });
});
