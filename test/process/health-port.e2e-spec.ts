import { registerUser } from '@test/support/auth-helpers';
import { findFreePort } from '@test/support/network';
import { createServerSetup, ServerProcess, ServerSetup } from '@test/support/server-process';
import { waitUntil } from '@test/support/wait-until';

/**
 * HEALTH_PORT: the probes and the scrape on a port of their own (a listen queue of their own, so a
 * storm of clients on the main port does not hold a balancer's probe), answering exactly as on the
 * main port, also while the instance drains; nothing of the API is served there.
 */
describe('the probe port (process)', () => {
  let setup: ServerSetup;
  let server: ServerProcess | undefined;
  let probeUrl: string;

  beforeAll(async () => {
    const probePort = await findFreePort();
    probeUrl = `http://127.0.0.1:${probePort}`;
    setup = await createServerSetup({
      HEALTH_PORT: String(probePort),
      SHUTDOWN_DRAIN_DELAY_MS: '3000',
    });
    server = await ServerProcess.start(setup.environment);
  });

  afterAll(async () => {
    await server?.kill();
    await setup?.remove();
  });

  it('answers readiness, liveness and metrics as the main port does, and nothing else', async () => {
    const main = server!;
    for (const path of ['/health', '/health/ready']) {
      const [onMain, onProbe] = await Promise.all([
        fetch(`${main.url}${path}`),
        fetch(`${probeUrl}${path}`),
      ]);
      expect(onProbe.status).toBe(200);
      expect(onProbe.status).toBe(onMain.status);
      expect(Object.keys(await onProbe.json())).toEqual(Object.keys(await onMain.json()));
    }
    const metrics = await fetch(`${probeUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('http_request_duration_seconds');

    // The API stays on the main port: the same request succeeds there (positive control).
    const user = await registerUser(main);
    const headers = { authorization: `Bearer ${user.accessToken}` };
    expect((await fetch(`${main.url}/api/users/me`, { headers })).status).toBe(200);
    const refused = await fetch(`${probeUrl}/api/users/me`, { headers });
    expect(refused.status).toBe(404);
    expect((await refused.json()).message).toMatch(/Only \/health/);
  });

  it('says shutting_down on the probe port from SIGTERM on, while the main port still serves', async () => {
    const main = server!;
    main.signal('SIGTERM');
    await waitUntil(
      async () => (await fetch(`${probeUrl}/health/ready`)).status === 503,
      2_000,
      'readiness 503 on the probe port',
    );
    const ready = await fetch(`${probeUrl}/health/ready`);
    expect(await ready.json()).toMatchObject({ status: 'shutting_down' });
    // The drain delay: other routes are still served meanwhile.
    expect((await fetch(`${main.url}/health`)).status).toBe(200);
    expect((await main.waitForExit(15_000)).code).toBe(0);
    server = undefined;
  });
});
