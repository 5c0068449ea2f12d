import { randomBytes } from 'node:crypto';
import {
  disconnectConsoleUser,
  getConsoleFleet,
  getConsoleRoom,
  removeConsoleRoomMember,
} from '@libs/client';
import { CloseCode, FleetView } from '@libs/protocol';
import { apiClient, expectStatus } from '@test/support/api-client';
import { registerUser, RegisteredUser } from '@test/support/auth-helpers';
import { useProcessFleet } from '@test/support/process-fleet';
import { parsePrometheusText, sumOf } from '@test/support/prometheus-text';
import { addMember, createRoom, joinRoom } from '@test/support/room-helpers';
import type { ServerProcess } from '@test/support/server-process';
import { waitUntil } from '@test/support/wait-until';

const operatorName = `ops_${randomBytes(3).toString('hex')}`;

/** The audit line of `action` on `userId` in the instance's log, once it has been written. */
async function auditLine(instance: ServerProcess, action: string, userId: string) {
  const find = () =>
    instance
      .logLines()
      .map((line) => line as Record<string, unknown>)
      .find((line) => line.action === action && line.userId === userId);
  await waitUntil(() => find() !== undefined, 5_000, `the audit line of ${action}`);
  return find();
}

/**
 * The operator console over a fleet of two server processes on one PostgreSQL and one Redis: each
 * instance reports through the bus, and either one shows both and acts on both.
 */
describe('operator console across two instances (services)', () => {
  const fleet = useProcessFleet(2, {
    CONSOLE_USERS: operatorName,
    CONSOLE_REPORT_INTERVAL_MS: '500',
    WS_MESSAGE_RATE: '1000',
    LOG_LEVEL: 'info',
  });
  let instanceA: ServerProcess;
  let instanceB: ServerProcess;
  let operator: RegisteredUser;

  beforeAll(async () => {
    [instanceA, instanceB] = fleet.instances;
    operator = await registerUser(instanceA, { username: operatorName });
  });

  const viewFrom = async (instance: ServerProcess): Promise<FleetView> =>
    expectStatus(getConsoleFleet({ client: apiClient(instance, operator.accessToken) }), 200);
  const metricsOf = async (instance: ServerProcess) =>
    parsePrometheusText(await (await fetch(`${instance.url}/metrics`)).text());

  it("each instance shows both, with each one's figures as its /metrics gives them", async () => {
    const user = await registerUser(instanceA);
    await fleet.connect(instanceA, user);
    await fleet.connect(instanceB, user);
    await fleet.connect(instanceB, user);

    for (const observer of [instanceA, instanceB]) {
      await waitUntil(
        async () => {
          const view = await viewFrom(observer);
          const matches = await Promise.all(
            [instanceA, instanceB].map(async (instance) => {
              const figures = view.instances.find((entry) => entry.pid === instance.pid);
              const samples = await metricsOf(instance);
              return (
                figures !== undefined &&
                figures.connections === sumOf(samples, 'switchboard_ws_connections') &&
                figures.state === 'ready' &&
                figures.redis === 'up' &&
                figures.breaker === 'closed' &&
                !figures.stale
              );
            }),
          );
          return view.instances.length === 2 && matches.every(Boolean);
        },
        15_000,
        'the fleet view to match',
      );
    }
  });

  it('watchFleet on one instance follows a change on the other', async () => {
    const watcher = await fleet.connect(instanceB, operator);
    await watcher.request('watchFleet', {}, 'fleet');
    const onA = (view: FleetView) => view.instances.find((entry) => entry.pid === instanceA.pid);
    const user = await registerUser(instanceA);

    await fleet.connect(instanceA, user);
    await fleet.connect(instanceA, user);

    // A's count as its /metrics has it now (other tests' sockets may still be closing).
    const expected = sumOf(await metricsOf(instanceA), 'switchboard_ws_connections');
    expect(expected).toBeGreaterThanOrEqual(2);
    await waitUntil(
      async () => onA((await watcher.next('fleet')).data)?.connections === expected,
      15_000,
      "a fleet frame with A's new connections",
    );
  });

  it("a room view gathers live members from both; the operator closes a user's connections on the other instance", async () => {
    const owner = await registerUser(instanceA);
    const bob = await registerUser(instanceA);
    const room = await createRoom(instanceA, owner);
    await joinRoom(instanceA, bob, room.id);
    const ownerOnA = await fleet.connect(instanceA, owner);
    const bobOnB = await fleet.connect(instanceB, bob);
    await ownerOnA.request('join', { roomId: room.id }, 'joined');
    await bobOnB.request('join', { roomId: room.id }, 'joined');
    const asOperator = apiClient(instanceA, operator.accessToken);
    // B must have reported once for A to wait for its answer.
    await waitUntil(
      async () => (await viewFrom(instanceA)).instances.length === 2,
      15_000,
      'the fleet view to match',
    );

    const view = await expectStatus(
      getConsoleRoom({ client: asOperator, path: { roomId: room.id } }),
      200,
    );
    const instanceIdOf = async (instance: ServerProcess) =>
      (await viewFrom(instanceA)).instances.find((entry) => entry.pid === instance.pid)!.instanceId;
    expect(view).toMatchObject({ instancesAnswered: 2, instancesAsked: 2, liveMembersTotal: 2 });
    expect(view.liveMembers.find((member) => member.userId === bob.id)).toEqual({
      userId: bob.id,
      username: bob.registration.username,
      connections: 1,
      instances: [await instanceIdOf(instanceB)],
    });

    const outcome = await expectStatus(
      disconnectConsoleUser({ client: asOperator, path: { userId: bob.id } }),
      200,
    );

    expect(outcome).toMatchObject({ closedConnections: 1, instancesAnswered: 2 });
    expect((await bobOnB.closed).code).toBe(CloseCode.PolicyViolation);
    expect((await ownerOnA.request('ping', {}, 'pong')).event).toBe('pong');
    expect(await auditLine(instanceA, 'disconnect_user', bob.id)).toMatchObject({
      audit: true,
      operatorId: operator.id,
      closedConnections: 1,
    });
  });

  it('an operator removes a member connected to the other instance: left there at once; audited', async () => {
    const owner = await registerUser(instanceA);
    const carol = await registerUser(instanceA);
    const room = await createRoom(instanceA, owner, { visibility: 'private' });
    await addMember(instanceA, owner, room.id, carol.id);
    const carolOnB = await fleet.connect(instanceB, carol);
    await carolOnB.request('join', { roomId: room.id }, 'joined');

    await expectStatus(
      removeConsoleRoomMember({
        client: apiClient(instanceA, operator.accessToken),
        path: { roomId: room.id, userId: carol.id },
      }),
      204,
    );

    expect((await carolOnB.next('left')).data).toEqual({ roomId: room.id });
    expect(await auditLine(instanceA, 'remove_room_member', carol.id)).toMatchObject({
      audit: true,
      operatorId: operator.id,
      roomId: room.id,
    });
  });
});
