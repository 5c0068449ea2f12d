import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { bearer, registerUser, RegisteredUser } from '@test/support/auth-helpers';
import { consoleScreenshotPath, launchChromium } from '@test/support/headless-chromium';
import { useProcessFleet } from '@test/support/process-fleet';
import { parsePrometheusText, sumOf } from '@test/support/prometheus-text';
import { createRoom, joinRoom } from '@test/support/room-helpers';
import type { ServerProcess } from '@test/support/server-process';
import { settlesWithin, sleep, waitUntil } from '@test/support/wait-until';
import { WsTestClient } from '@test/support/ws-test-client';

const REPORT_INTERVAL_MS = 500;
/** Long enough for a few reports to cross the bus on a busy shared machine. */
const UPDATE_TIMEOUT_MS = 15_000;

/** The page's figures compared with the instance's /metrics: the figure, and the metric summed. */
const FIGURES_FROM_METRICS = {
  connections: 'switchboard_ws_connections',
  messagesStoredTotal: 'switchboard_messages_stored_total',
  requestsTotal: 'switchboard_http_request_duration_seconds_count',
  throttledTotal: 'switchboard_http_requests_throttled_total',
  shedTotal: 'switchboard_http_requests_shed_total',
  slowConsumersDroppedTotal: 'switchboard_ws_slow_consumers_dropped_total',
} as const;
type ComparedFigure = keyof typeof FIGURES_FROM_METRICS;

/** Figures the row shows otherwise: who it is (its header and attributes), and the cache ratio's parts. */
const NOT_A_COLUMN = new Set([
  'instanceId',
  'host',
  'pid',
  'startedAt',
  'reportedAt',
  'stale',
  'cacheHitsTotal',
  'cacheMissesTotal',
]);

interface ShownInstance {
  reportedAt: string;
  values: Record<string, string>;
}

/** What a page saw go wrong: CSP violations (the event), console errors and uncaught errors. */
interface PageProblems {
  console: string[];
}

/**
 * The console in real headless Chromium against two server processes on PostgreSQL and Redis:
 * login through the page's form, the fleet pushed over the app's socket, the figures against
 * each instance's /metrics, the 403 of a non-operator, the strict CSP, and an operator closing a
 * user's connections on the other instance from the room view.
 */
describe('the operator console in headless Chromium (services)', () => {
  const operatorName = `ops-${randomBytes(4).toString('hex')}`;
  let browser: Browser;
  // First: without Chromium the suite fails at once, before starting the fleet.
  beforeAll(async () => {
    browser = await launchChromium();
  });
  const fleet = useProcessFleet(2, {
    CONSOLE_USERS: operatorName,
    CONSOLE_REPORT_INTERVAL_MS: String(REPORT_INTERVAL_MS),
    WS_MESSAGE_RATE: '1000',
  });
  let instanceA: ServerProcess;
  let instanceB: ServerProcess;
  let operator: RegisteredUser;
  let alice: RegisteredUser;
  let bob: RegisteredUser;
  let carol: RegisteredUser;
  let roomId: string;
  let aliceOnA: WsTestClient;
  let bobOnB: WsTestClient;
  let carolOnB: WsTestClient;
  let operatorContext: BrowserContext;
  let operatorPage: Page;
  let pageResponse: Response | null;
  const problems: PageProblems = { console: [] };

  beforeAll(async () => {
    [instanceA, instanceB] = fleet.instances;
    operator = await registerUser(instanceA, { username: operatorName });
    alice = await registerUser(instanceA);
    bob = await registerUser(instanceB);
    carol = await registerUser(instanceB);
    // Live load on each instance: Alice (the owner) on A and Bob on B, in one room, a few posts.
    roomId = (await createRoom(instanceA, alice, { visibility: 'public' })).id;
    await joinRoom(instanceB, bob, roomId);
    await joinRoom(instanceB, carol, roomId);
    aliceOnA = await WsTestClient.connect(instanceA.url, { token: alice.accessToken });
    bobOnB = await WsTestClient.connect(instanceB.url, { token: bob.accessToken });
    carolOnB = await WsTestClient.connect(instanceB.url, { token: carol.accessToken });
    for (const socket of [aliceOnA, bobOnB, carolOnB]) {
      await socket.request('join', { roomId }, 'joined');
    }
    for (let index = 0; index < 3; index++) {
      await aliceOnA.request('send', { roomId, body: `from A ${index}` }, 'ack');
      await bobOnB.request('send', { roomId, body: `from B ${index}` }, 'ack');
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.all([aliceOnA, bobOnB, carolOnB].map((socket) => socket?.closeAndWait()));
    await browser?.close();
  });

  /** A page in a fresh context that records every CSP violation and console error it sees. */
  async function openConsole(into: PageProblems): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: { width: 1760, height: 900 } });
    context.setDefaultTimeout(UPDATE_TIMEOUT_MS);
    const page = await context.newPage();
    // Evaluated by the browser before the page's own script, outside the page's CSP.
    await page.addInitScript(() => {
      const seen: string[] = [];
      Object.defineProperty(window, '__cspViolations', { value: seen });
      document.addEventListener('securitypolicyviolation', (event) =>
        seen.push(`${event.violatedDirective} ${event.blockedURI}`),
      );
    });
    page.on('console', (message) => {
      if (message.type() === 'error') {
        into.console.push(message.text());
      }
    });
    page.on('pageerror', (error) => into.console.push(`uncaught: ${error.message}`));
    return { context, page };
  }

  async function logIn(page: Page, user: RegisteredUser): Promise<Response | null> {
    const response = await page.goto(`${instanceA.url}/console`);
    await page.locator('html[data-console-ready="true"]').waitFor();
    await page.getByLabel('Username').fill(user.registration.username);
    await page.getByLabel('Password').fill(user.registration.password);
    await page.getByTestId('login-submit').click();
    return response;
  }

  const violationsOf = (page: Page) =>
    page.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations);

  /** The row of the instance (matched by pid) as the page shows it now; undefined when absent. */
  async function shownInstance(
    page: Page,
    instance: ServerProcess,
  ): Promise<ShownInstance | undefined> {
    return page.evaluate((pid) => {
      const row = document.querySelector<HTMLElement>(`tr[data-instance-id][data-pid="${pid}"]`);
      if (!row) {
        return undefined;
      }
      const values: Record<string, string> = {};
      for (const cell of Array.from(row.querySelectorAll<HTMLElement>('[data-field]'))) {
        values[cell.dataset.field ?? ''] = cell.dataset.value ?? '';
      }
      return { reportedAt: row.dataset.reportedAt ?? '', values };
    }, instance.pid);
  }

  /** Waits for the page to show a report of the instance newer than the one it shows now. */
  async function nextReport(page: Page, instance: ServerProcess): Promise<ShownInstance> {
    const before = (await shownInstance(page, instance))?.reportedAt;
    let shown: ShownInstance | undefined;
    await waitUntil(
      async () => {
        shown = await shownInstance(page, instance);
        return shown !== undefined && shown.reportedAt !== before;
      },
      UPDATE_TIMEOUT_MS,
      `a new report of the instance on port ${instance.port} on the page`,
    );
    return shown as ShownInstance;
  }

  async function metricsOf(instance: ServerProcess): Promise<Record<ComparedFigure, number>> {
    const response = await fetch(`${instance.url}/metrics`);
    expect(response.status).toBe(200);
    const samples = parsePrometheusText(await response.text());
    const names = Object.values(FIGURES_FROM_METRICS);
    for (const name of names) {
      // A metric that is not exported would sum to 0 and match a 0 on the page.
      expect(samples.some((sample) => sample.name === name)).toBe(true);
    }
    return Object.fromEntries(
      Object.entries(FIGURES_FROM_METRICS).map(([figure, name]) => [figure, sumOf(samples, name)]),
    ) as Record<ComparedFigure, number>;
  }

  it('logs an operator in through the form and shows both instances, pushed over the socket', async () => {
    ({ context: operatorContext, page: operatorPage } = await openConsole(problems));
    pageResponse = await logIn(operatorPage, operator);

    await operatorPage.getByTestId('fleet-view').waitFor();
    await waitUntil(
      async () => (await operatorPage.locator('tr[data-instance-id]').count()) === 2,
      UPDATE_TIMEOUT_MS,
      'both instances on the page',
    );
    for (const instance of [instanceA, instanceB]) {
      const shown = await shownInstance(operatorPage, instance);
      expect(shown?.values.state).toBe('ready');
      expect(shown?.values.database).toBe('up');
      expect(shown?.values.redis).toBe('up');
    }
    await waitUntil(
      async () => (await operatorPage.getByTestId('link-state').textContent()) === 'live',
      UPDATE_TIMEOUT_MS,
      'the socket to be live',
    );
    // Pushed: the page's last update moves on with no request from it.
    const first = await nextReport(operatorPage, instanceB);
    const second = await nextReport(operatorPage, instanceB);
    expect(Date.parse(second.reportedAt)).toBeGreaterThan(Date.parse(first.reportedAt));
    expect(await operatorPage.getByTestId('total-instances').getAttribute('data-value')).toBe('2');

    // Every figure the server sends has its cell (a renamed field would leave an empty column).
    const answer = await fetch(`${instanceA.url}/api/console/fleet`, {
      headers: bearer(operator.accessToken),
    });
    const [figures] = ((await answer.json()) as { instances: Record<string, unknown>[] }).instances;
    const shown = Object.keys((await shownInstance(operatorPage, instanceA))?.values ?? {});
    expect(Object.keys(figures).filter((key) => !NOT_A_COLUMN.has(key))).toEqual(
      expect.arrayContaining(shown),
    );
    expect(shown).toEqual(
      expect.arrayContaining(Object.keys(figures).filter((key) => !NOT_A_COLUMN.has(key))),
    );
  });

  it("shows each instance's figures as its /metrics has them, within one update", async () => {
    for (const instance of [instanceA, instanceB]) {
      let mismatch = '';
      // The report that arrives next, then /metrics at once: nothing else runs on the instance in
      // between. One more update is allowed, should a request have slipped into that gap.
      for (let update = 0; update < 2; update++) {
        const shown = await nextReport(operatorPage, instance);
        const metrics = await metricsOf(instance);
        const differing = (Object.keys(FIGURES_FROM_METRICS) as ComparedFigure[]).filter(
          (figure) => Number(shown.values[figure]) !== metrics[figure],
        );
        mismatch = differing
          .map((figure) => `${figure}: page ${shown.values[figure]}, /metrics ${metrics[figure]}`)
          .join('; ');
        if (!mismatch) {
          // The load is on the page: Alice or Bob connected here, and their posts stored.
          expect(metrics.connections).toBeGreaterThanOrEqual(1);
          expect(metrics.messagesStoredTotal).toBeGreaterThanOrEqual(3);
          break;
        }
      }
      expect(mismatch).toBe('');
    }
  }, 60_000);

  it('follows the load live: messages per second on both instances while posts flow', async () => {
    const screenshot = consoleScreenshotPath();
    // Rates shown on both instances, then (for the screenshot) a few seconds more of load.
    let seenAt: number | undefined;
    const keepOnFor = screenshot ? 6_000 : 0;
    const deadline = Date.now() + 30_000;
    // A post and a read on each instance every ~50 ms, bounded in count and time.
    for (let round = 0; round < 600 && Date.now() < deadline; round++) {
      await Promise.all([
        aliceOnA.request('send', { roomId, body: `load ${round}` }, 'ack'),
        bobOnB.request('send', { roomId, body: `load ${round}` }, 'ack'),
        fetch(`${instanceA.url}/api/rooms/${roomId}`, { headers: bearer(alice.accessToken) }),
        fetch(`${instanceB.url}/api/rooms/${roomId}`, { headers: bearer(bob.accessToken) }),
      ]);
      await sleep(50);
      if (seenAt === undefined && round % 10 === 9) {
        const shown = await Promise.all(
          [instanceA, instanceB].map((instance) => shownInstance(operatorPage, instance)),
        );
        if (shown.every((row) => Number(row?.values.messagesPerSecond) > 0)) {
          seenAt = Date.now();
        }
      }
      if (seenAt !== undefined && Date.now() - seenAt >= keepOnFor) {
        break;
      }
    }
    expect(seenAt).toBeDefined();
    if (screenshot) {
      const fleetView = await operatorPage.getByTestId('fleet-view').boundingBox();
      const width = operatorPage.viewportSize()?.width ?? 1760;
      mkdirSync(dirname(screenshot), { recursive: true });
      await operatorPage.screenshot({
        path: screenshot,
        clip: { x: 0, y: 0, width, height: (fleetView?.y ?? 0) + (fleetView?.height ?? 400) + 8 },
      });
    }
  }, 60_000);

  it('shows a non-operator "Not a console operator"; the API answers them 403', async () => {
    const own: PageProblems = { console: [] };
    const { context, page } = await openConsole(own);
    try {
      await logIn(page, alice);

      await page.getByTestId('forbidden').waitFor();
      expect(await page.getByTestId('forbidden').textContent()).toContain('Not a console operator');
      expect(await page.getByTestId('fleet-view').isVisible()).toBe(false);
      expect(await page.locator('tr[data-instance-id]').count()).toBe(0);
    } finally {
      await context.close();
    }
    const refused = await fetch(`${instanceA.url}/api/console/fleet`, {
      headers: bearer(alice.accessToken),
    });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { code?: string }).code).toBe('not_operator');
    // Positive control: the operator's token is let in.
    const allowed = await fetch(`${instanceA.url}/api/console/fleet`, {
      headers: bearer(operator.accessToken),
    });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('cache-control')).toBe('no-store');
  });

  it('runs under a CSP without inline scripts: no violation, no console error', async () => {
    const policy = (await pageResponse?.allHeaders())?.['content-security-policy'] ?? '';
    expect(policy).toContain("script-src 'self'");
    expect(policy).not.toMatch(/unsafe-inline|unsafe-eval/);

    // The page works (the tests above read it), and nothing was refused on the way.
    expect(await violationsOf(operatorPage)).toEqual([]);
    expect(problems.console).toEqual([]);

    // Positive control: an inline script is refused, and the listener sees it.
    await operatorPage.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'document.title = "inline ran"';
      document.body.append(script);
    });
    await waitUntil(
      async () => (await violationsOf(operatorPage)).length > 0,
      5000,
      'the inline script to be refused',
    );
    expect((await violationsOf(operatorPage))[0]).toMatch(/^script-src/);
    expect(await operatorPage.title()).toBe('Switchboard console');
    // The control's own traces, so that the next test starts clean.
    await operatorPage.evaluate(() =>
      (window as unknown as { __cspViolations: string[] }).__cspViolations.splice(0),
    );
    problems.console.length = 0;
  });

  it("lists the room's live members; Close connections closes Bob's socket on the other instance", async () => {
    await operatorPage.getByLabel('Room id').fill(roomId);
    await operatorPage.getByTestId('room-show').click();
    const members = operatorPage.getByTestId('room-members');
    const bobRow = members.locator(`tr[data-user-id="${bob.id}"]`);
    await bobRow.waitFor({ timeout: UPDATE_TIMEOUT_MS });
    await members.locator(`tr[data-user-id="${alice.id}"]`).waitFor();
    expect(await bobRow.textContent()).toContain(bob.registration.username);
    const lastSeq = Number(
      await operatorPage.locator('[data-testid="room-facts"] [data-field="lastSeq"]').textContent(),
    );
    expect(lastSeq).toBeGreaterThanOrEqual(6);
    // Newest first, at most 20.
    const entries = operatorPage.locator('[data-testid="room-entries"] tr[data-seq]');
    expect(await entries.count()).toBe(Math.min(20, lastSeq));
    expect(Number(await entries.first().getAttribute('data-seq'))).toBe(lastSeq);

    // A confirm step first: the first click closes nothing.
    await bobRow.getByTestId('action-disconnect').click();
    expect(await settlesWithin(bobOnB.closed, 500)).toBe(false);
    await bobRow.getByTestId('confirm-disconnect').click();

    const closed = await bobOnB.closed;
    expect(closed.code).toBe(1008);
    await operatorPage.getByText(`Closed ${bob.registration.username}'s connections.`).waitFor();
    // Alice, on the other instance, stays connected and keeps getting the room.
    expect(await settlesWithin(aliceOnA.closed, 200)).toBe(false);
    await aliceOnA.request('send', { roomId, body: 'still here' }, 'ack');
    await members.locator(`tr[data-user-id="${bob.id}"]`).waitFor({
      state: 'detached',
      timeout: UPDATE_TIMEOUT_MS,
    });
    expect(await violationsOf(operatorPage)).toEqual([]);
    expect(problems.console).toEqual([]);
  }, 60_000);

  it('Remove from room takes Carol out of the room on the other instance: she gets left, her socket stays', async () => {
    const members = operatorPage.getByTestId('room-members');
    const carolRow = members.locator(`tr[data-user-id="${carol.id}"]`);
    await carolRow.waitFor();

    await carolRow.getByTestId('action-remove').click();
    await carolRow.getByTestId('confirm-remove').click();

    expect((await carolOnB.next('left', UPDATE_TIMEOUT_MS)).data.roomId).toBe(roomId);
    await operatorPage.getByText(`Removed ${carol.registration.username} from the room.`).waitFor();
    await carolRow.waitFor({ state: 'detached' });
    expect(await settlesWithin(carolOnB.closed, 200)).toBe(false);
    const membership = await fetch(`${instanceB.url}/api/rooms/${roomId}/members`, {
      headers: bearer(alice.accessToken),
    });
    const listed = ((await membership.json()) as { items: { user: { id: string } }[] }).items;
    expect(listed.map((member) => member.user.id)).not.toContain(carol.id);
    expect(listed.map((member) => member.user.id)).toContain(alice.id);
    expect(await violationsOf(operatorPage)).toEqual([]);
    expect(problems.console).toEqual([]);
  }, 60_000);

  it('renews its access token before it expires and hands the new one to the socket', async () => {
    const own: PageProblems = { console: [] };
    const { context, page } = await openConsole(own);
    try {
      // The page's clock only: the server's tokens run on real time.
      await page.clock.install();
      const sent: string[] = [];
      const received: string[] = [];
      page.on('websocket', (socket) => {
        socket.on('framesent', (frame) => sent.push(String(frame.payload)));
        socket.on('framereceived', (frame) => received.push(String(frame.payload)));
      });
      const refreshed = page.waitForResponse((response) =>
        response.url().endsWith('/api/auth/refresh'),
      );
      await logIn(page, operator);
      await waitUntil(
        async () => (await page.getByTestId('link-state').textContent()) === 'live',
        UPDATE_TIMEOUT_MS,
        'the socket to be live',
      );
      expect(sent.some((frame) => frame.includes('"auth"'))).toBe(false);

      // JWT_TTL is 15 min: the page renews a minute before.
      await page.clock.fastForward('14:30');
      expect((await refreshed).status()).toBe(200);
      await waitUntil(
        () => received.some((frame) => frame.includes('"authed"')),
        UPDATE_TIMEOUT_MS,
        "the server's authed for the renewed token",
      );
      const auth = JSON.parse(sent.find((frame) => frame.includes('"auth"')) ?? '{}');
      expect(auth.data.token).toEqual(expect.any(String));
      expect(await page.getByTestId('link-state').textContent()).toBe('live');
      expect(own.console).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('reconnects with backoff when its socket is closed, and the fleet keeps coming', async () => {
    const linkState = operatorPage.getByTestId('link-state');
    expect(await linkState.textContent()).toBe('live');

    // The operator closes their own connections: the page's socket among them.
    const closed = await fetch(`${instanceA.url}/api/console/users/${operator.id}/disconnect`, {
      method: 'POST',
      headers: bearer(operator.accessToken),
    });
    expect(closed.ok).toBe(true);
    await waitUntil(
      async () => (await linkState.textContent()) !== 'live',
      UPDATE_TIMEOUT_MS,
      "the page to notice its socket's close",
    );
    await waitUntil(
      async () => (await linkState.textContent()) === 'live',
      UPDATE_TIMEOUT_MS,
      'the page to reconnect',
    );
    const before = await nextReport(operatorPage, instanceA);
    const after = await nextReport(operatorPage, instanceA);
    expect(Date.parse(after.reportedAt)).toBeGreaterThan(Date.parse(before.reportedAt));
  });

  it('answers /console with no-store, in the browser as over HTTP', async () => {
    expect(pageResponse?.status()).toBe(200);
    expect((await pageResponse?.allHeaders())?.['cache-control']).toBe('no-store');
    const again = await fetch(`${instanceB.url}/console`);
    expect(again.status).toBe(200);
    expect(again.headers.get('cache-control')).toBe('no-store');
    await operatorContext.close();
  });
});
