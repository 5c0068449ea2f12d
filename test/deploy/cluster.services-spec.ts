import { CloseCode } from '@libs/client';
import { RegisteredUser, registerUser } from '@test/support/auth-helpers';
import { CLUSTER_MAIN, ClusterProcess } from '@test/support/cluster-process';
import { createRoom, postMessage } from '@test/support/room-helpers';
import { createServerSetup, runUntilExit, ServerSetup } from '@test/support/server-process';
import { requireTestDatabaseUrl } from '@test/support/test-database';
import { requireTestRedisUrl } from '@test/support/test-redis';
import { WsTestClient } from '@test/support/ws-test-client';

const WORKERS = 2;
/** node:cluster hands connections out round-robin: four land two on each worker. */
const CLIENTS = 4;
const SHUTDOWN_TIMEOUT_MS = 5000;
/** A worker that died young is restarted after 0.5 s (cluster-primary.ts), then it boots. */
const RESTART_TIMEOUT_MS = 20_000;
/** An abnormal closure: the peer vanished without a closing handshake. */
const ABNORMAL_CLOSURE = 1006;

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * `npm run start:cluster` as issue 7 asks: the primary forks CLUSTER_WORKERS workers on one
 * port, they share state through Redis and PostgreSQL only, a dead worker is replaced, and
 * SIGTERM drains them all. The tests run in order on one cluster, the last one stops it.
 */
describe('start:cluster with two workers (services)', () => {
  let setup: ServerSetup;
  let cluster: ClusterProcess;
  let owner: RegisteredUser;
  let roomId: string;
  const clients: WsTestClient[] = [];

  /** A WebSocket client of a new member of the room. Registered first: connections alternate. */
  const connectMembers = async (count: number) => {
    const members = [];
    for (let i = 0; i < count; i++) {
      members.push(await registerUser(cluster));
    }
    const connected = [];
    for (const member of members) {
      connected.push(await WsTestClient.connect(cluster.url, { token: member.accessToken }));
    }
    clients.push(...connected);
    for (const client of connected) {
      await client.request('join', { roomId }, 'joined');
    }
    return connected;
  };

  beforeAll(async () => {
    requireTestDatabaseUrl();
    requireTestRedisUrl();
    setup = await createServerSetup({ SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) });
    cluster = await ClusterProcess.start(setup.environment, WORKERS);
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.closeAndWait()));
    await cluster?.stop();
    await setup?.remove();
  });

  it('starts CLUSTER_WORKERS workers, all listening on the one port', () => {
    expect(cluster.workerPids()).toHaveLength(WORKERS);
    expect(cluster.primary.logLines()).toContainEqual(
      expect.objectContaining({
        context: 'Cluster',
        msg: `primary ${cluster.primary.pid}: starting ${WORKERS} workers`,
      }),
    );
  });

  it('a message posted over HTTP reaches WebSocket clients on both workers', async () => {
    owner = await registerUser(cluster);
    roomId = (await createRoom(cluster, owner)).id;
    await connectMembers(CLIENTS);
    const holders = clients.map((client) => cluster.workerOf(client.localPort));
    expect(new Set(holders)).toEqual(new Set(cluster.workerPids()));

    const posted = await postMessage(cluster, owner, roomId);

    for (const client of clients) {
      expect((await client.next('message')).data.id).toBe(posted.id);
    }
  });

  it('restarts a worker killed with SIGKILL; only its own clients are cut off', async () => {
    const [victim, survivor] = cluster.workerPids();
    const onVictim = clients.filter((client) => cluster.workerOf(client.localPort) === victim);
    const onSurvivor = clients.filter((client) => !onVictim.includes(client));
    expect(onVictim.length).toBeGreaterThan(0);

    process.kill(victim, 'SIGKILL');

    for (const client of onVictim) {
      expect((await client.closed).code).toBe(ABNORMAL_CLOSURE);
    }
    await cluster.primary.waitForLogLines(
      (line) => line.msg?.startsWith(`worker ${victim} exited (SIGKILL); restarting in`) ?? false,
      1,
      5000,
      'the primary to report the dead worker',
    );
    const workers = await cluster.waitForWorkers(WORKERS, RESTART_TIMEOUT_MS);
    expect(workers).toContain(survivor);
    expect(workers).not.toContain(victim);
    const replacement = workers.find((pid) => pid !== survivor);

    // The replacement serves: of two new clients, one lands on it (round-robin).
    const newcomers = await connectMembers(WORKERS);
    const onReplacement = newcomers.find(
      (client) => cluster.workerOf(client.localPort) === replacement,
    );
    expect(onReplacement).toBeDefined();

    const posted = await postMessage(cluster, owner, roomId);

    for (const client of [...onSurvivor, onReplacement!]) {
      expect((await client.next('message')).data.id).toBe(posted.id);
    }
  });

  it('drains on SIGTERM: clients get 1001, every worker exits, then the primary with 0', async () => {
    const workers = cluster.workerPids();
    const open = clients.filter((client) => client.socket.readyState === client.socket.OPEN);
    expect(open.length).toBeGreaterThan(0);

    cluster.primary.signal('SIGTERM');

    for (const client of open) {
      expect((await client.closed).code).toBe(CloseCode.GoingAway);
    }
    // The primary's own deadline is SHUTDOWN_TIMEOUT_MS + 1 s; a clean drain is well inside it.
    expect(await cluster.primary.waitForExit(SHUTDOWN_TIMEOUT_MS)).toEqual({
      code: 0,
      signal: null,
    });
    expect(workers.filter(isRunning)).toEqual([]);
    expect(cluster.primary.logLines()).toContainEqual(
      expect.objectContaining({ msg: `SIGTERM received: draining ${WORKERS} workers` }),
    );
  });
});

describe('start:cluster without its services (process)', () => {
  it.each([
    ['REDIS_URL', { DATABASE_URL: 'postgres://127.0.0.1:5432/test' }],
    ['DATABASE_URL', { REDIS_URL: 'redis://127.0.0.1:6379' }],
  ])('without %s it exits non-zero with one line naming it', (variable, environment) => {
    const result = runUntilExit(
      { ...environment, CLUSTER_WORKERS: String(WORKERS) },
      { script: CLUSTER_MAIN },
    );

    expect(result.status).not.toBe(0);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(variable);
    expect(result.stdout).toBe('');
  });
});
