import { CheckedWebSocket } from '@test/support/checked-web-socket';
import { CloseCode, ConnectionEventMap, RealtimeClient, RealtimeMessage } from '@libs/client';
import { ConnectionRegistry } from '@app/realtime/connection-registry';
import { registerUser } from '@test/support/auth-helpers';
import { parsePrometheusText, sumOf } from '@test/support/prometheus-text';
import { createRoom, postMessage } from '@test/support/room-helpers';
import { startTestApp, TestApp } from '@test/support/test-app';
import { waitUntil } from '@test/support/wait-until';
import { UpgradeOutcome, WsTestClient } from '@test/support/ws-test-client';

const REFUSED_METRIC = 'switchboard_ws_upgrades_refused_total';
const MESSAGES_PER_PHASE = 5;
const WAIT_MS = 15_000;

async function refusedUpgrades(testApp: TestApp, reason: string): Promise<number> {
  const text = await (await fetch(`${testApp.url}/metrics`)).text();
  return sumOf(parsePrometheusText(text), REFUSED_METRIC, { status: '503', reason });
}

/**
 * Admission control of upgrades (WS_ACCEPT_RATE / WS_ACCEPT_BURST): a reconnect storm is let in
 * at the instance's pace, the rest told "later" with 503 and Retry-After, and the typed client
 * takes that as "later", not as a failure.
 */
describe('WebSocket upgrade admission (e2e)', () => {
  let testApp: TestApp;
  const opened: WsTestClient[] = [];

  /** Upgrades until one is refused (bounded): the bucket is empty afterwards. */
  const drainBucket = async (token: string): Promise<UpgradeOutcome & { accepted: false }> => {
    for (let attempt = 0; attempt < 10; attempt++) {
      const outcome = await WsTestClient.tryConnect(testApp.url, { token });
      if (!outcome.accepted) {
        return outcome;
      }
      opened.push(outcome.client);
    }
    throw new Error('The bucket never ran empty');
  };

  beforeEach(async () => {
    testApp = await startTestApp({
      environment: {
        // A token every 4 s: the bucket stays empty through a busy machine's pauses.
        WS_ACCEPT_RATE: '0.25',
        WS_ACCEPT_BURST: '3',
        WS_ACCEPT_CONCURRENCY: '100',
      },
    });
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((client) => client.closeAndWait()));
    await testApp.close();
  });

  it('lets a burst up to WS_ACCEPT_BURST in at once, refuses the rest with 503 + Retry-After and counts them', async () => {
    const user = await registerUser(testApp);

    const outcomes: UpgradeOutcome[] = [];
    for (let i = 0; i < 5; i++) {
      outcomes.push(await WsTestClient.tryConnect(testApp.url, { token: user.accessToken }));
    }
    for (const outcome of outcomes) {
      if (outcome.accepted) {
        opened.push(outcome.client);
      }
    }

    // Positive control: within the burst, upgrades succeed at once and serve.
    expect(outcomes.slice(0, 3).map((outcome) => outcome.accepted)).toEqual([true, true, true]);
    expect((await opened[0].request('ping', {}, 'pong')).event).toBe('pong');
    const refused = outcomes.slice(3);
    expect(refused).toEqual([
      expect.objectContaining({ accepted: false, status: 503 }),
      expect.objectContaining({ accepted: false, status: 503 }),
    ]);
    for (const outcome of refused) {
      expect(!outcome.accepted && outcome.headers['retry-after']).toBe('1');
    }
    expect(await refusedUpgrades(testApp, 'accept_rate')).toBe(2);
  });

  it('RealtimeClient refused on reconnect waits the Retry-After with jitter, comes back and resumes with every message', async () => {
    const owner = await registerUser(testApp);
    const reader = await registerUser(testApp);
    const room = await createRoom(testApp, owner, { visibility: 'public' });
    const reconnecting: ConnectionEventMap['reconnecting'][] = [];
    let reconnected = false;
    const client = await RealtimeClient.connect({
      baseUrl: testApp.url,
      accessToken: reader.accessToken,
      WebSocket: CheckedWebSocket,
      // One failure would end it: a 503 must not count as one.
      reconnect: { initialDelayMs: 100, maxDelayMs: 100, maxAttempts: 1 },
    });
    const delivered: RealtimeMessage[] = [];
    client.on('message', (message) => delivered.push(message));
    client.on('reconnecting', (event) => reconnecting.push(event));
    client.on('reconnected', () => (reconnected = true));
    await client.join(room.id);
    const post = (label: string) =>
      Promise.all(
        Array.from({ length: MESSAGES_PER_PHASE }, (_, i) =>
          postMessage(testApp, owner, room.id, { body: `${label} ${i}` }),
        ),
      );
    await post('before');
    await waitUntil(() => delivered.length === MESSAGES_PER_PHASE, WAIT_MS, 'live delivery');

    // A storm has just taken every token; then the reader's connection is lost.
    await drainBucket(owner.accessToken);
    for (const connection of testApp.app.get(ConnectionRegistry).connectionsOf(reader.id)) {
      connection.close(CloseCode.GoingAway, 'Server shutting down');
    }
    await post('while away');
    await waitUntil(() => reconnected, WAIT_MS, 'the client to come back');
    await post('after');
    await waitUntil(() => delivered.length >= 3 * MESSAGES_PER_PHASE, WAIT_MS, 'every message');

    expect(await refusedUpgrades(testApp, 'accept_rate')).toBeGreaterThanOrEqual(2);
    // The first try came within the backoff and was refused; the next waited 1 to 2 s (Retry-After 1).
    expect(reconnecting[0]).toMatchObject({ attempt: 1, code: CloseCode.GoingAway });
    expect(reconnecting[0].delayMs).toBeLessThan(100);
    expect(reconnecting.length).toBeGreaterThanOrEqual(2);
    for (const later of reconnecting.slice(1)) {
      expect(later.attempt).toBe(1);
      expect(later.delayMs).toBeGreaterThanOrEqual(1000);
      expect(later.delayMs).toBeLessThan(2000);
    }
    expect(delivered.map((message) => message.seq)).toEqual(
      Array.from({ length: 3 * MESSAGES_PER_PHASE }, (_, i) => i + 1),
    );
    expect(client.connected).toBe(true);
    client.close();
    expect((await client.closed).code).toBe(1000);
  });
});
