import { randomBytes } from 'node:crypto';
import {
  addRoomMember,
  disconnectConsoleUser,
  getConsoleFleet,
  getConsoleRoom,
  removeConsoleRoomMember,
} from '@libs/client';
import { CloseCode } from '@libs/protocol';
import { usesRedis } from '@config';
import { MISSING_ID } from '@test/factories/ids';
import { apiClient, expectStatus } from '@test/support/api-client';
import { registerUser, RegisteredUser } from '@test/support/auth-helpers';
import { parsePrometheusText, sumOf } from '@test/support/prometheus-text';
import { createRoom, listMemberIds, postMessage } from '@test/support/room-helpers';
import { startTestApp, TestApp, useTestApp } from '@test/support/test-app';
import { useWsTestClients, WsTestClient } from '@test/support/ws-test-client';
import { waitUntil } from '@test/support/wait-until';

const operatorName = `ops_${randomBytes(3).toString('hex')}`;

async function metricsOf(testApp: TestApp) {
  return parsePrometheusText(await (await fetch(`${testApp.url}/metrics`)).text());
}

describe('operator console routes and frames (e2e)', () => {
  const testApp = useTestApp({
    environment: {
      // Written with another letter case: usernames compare without it.
      CONSOLE_USERS: `someone_else, ${operatorName.toUpperCase()}`,
      CONSOLE_REPORT_INTERVAL_MS: '250',
      WS_MESSAGE_RATE: '1000',
    },
  });
  const clients = useWsTestClients();
  let operator: RegisteredUser;
  let alice: RegisteredUser;

  beforeAll(async () => {
    operator = await registerUser(testApp, { username: operatorName });
    alice = await registerUser(testApp);
  });

  const as = (user: RegisteredUser) => apiClient(testApp, user.accessToken);
  const fleet = (user: RegisteredUser) => getConsoleFleet({ client: as(user) });

  it('shows the instance to an operator, never cached, with the figures /metrics gives', async () => {
    const socket = await clients.connect(testApp, alice);
    const room = await createRoom(testApp, alice);
    await socket.request('join', { roomId: room.id }, 'joined');
    await postMessage(testApp, alice, room.id, { body: 'counted' });

    // Within one report the figures catch up with /metrics: compare both ways round.
    await waitUntil(
      async () => {
        const { data, response } = await fleet(operator);
        expect(response.status).toBe(200);
        expect(response.headers.get('cache-control')).toBe('no-store');
        const [instance] = data!.instances;
        const samples = await metricsOf(testApp);
        return (
          data!.instances.length === 1 &&
          instance.connections === sumOf(samples, 'switchboard_ws_connections') &&
          instance.connections === 1 &&
          instance.roomsLive === 1 &&
          instance.messagesStoredTotal === sumOf(samples, 'switchboard_messages_stored_total') &&
          instance.messagesStoredTotal >= 1 &&
          instance.state === 'ready' &&
          instance.database === 'up' &&
          instance.redis === (usesRedis(testApp.config) ? 'up' : 'absent') &&
          !instance.stale
        );
      },
      10_000,
      'the console to match /metrics',
    );
  });

  it('403 not_operator for anyone else, for every route and for watchFleet', async () => {
    const room = await createRoom(testApp, alice);
    const refused = [
      await fleet(alice),
      await getConsoleRoom({ client: as(alice), path: { roomId: room.id } }),
      await disconnectConsoleUser({ client: as(alice), path: { userId: operator.id } }),
      await removeConsoleRoomMember({
        client: as(alice),
        path: { roomId: room.id, userId: operator.id },
      }),
    ];
    for (const { response, error } of refused) {
      expect(response.status).toBe(403);
      expect(error).toMatchObject({ code: 'not_operator' });
    }
    const socket = await clients.connect(testApp, alice);
    const answer = await socket.request('watchFleet', {}, 'error');
    expect(answer.data).toMatchObject({ code: 'forbidden' });
    // The positive control: the same frame from an operator is answered with the fleet.
    const operatorSocket = await clients.connect(testApp, operator);
    expect((await operatorSocket.request('watchFleet', {}, 'fleet')).data.instances).toHaveLength(
      1,
    );
  });

  it('watchFleet sends the fleet at once and after each report, until unwatchFleet', async () => {
    const socket = await clients.connect(testApp, operator);
    const first = await socket.request('watchFleet', {}, 'fleet');
    const later = await socket.next('fleet');
    expect(Date.parse(later.data.generatedAt)).toBeGreaterThan(Date.parse(first.data.generatedAt));
    expect(later.data.instances[0].reportedAt >= first.data.instances[0].reportedAt).toBe(true);

    socket.send('unwatchFleet', {});
    const pong = await socket.request('ping', {}, 'pong');
    expect(pong.event).toBe('pong');
    const seen = socket.received('fleet').length;
    await new Promise((resolve) => setTimeout(resolve, 800));
    // Reports went on (the positive control is the frames before); none reached this socket.
    expect(socket.received('fleet')).toHaveLength(seen);
  });

  it('a room view lists its live members and newest entries; 404 for no room, 400 for a bad id', async () => {
    const room = await createRoom(testApp, alice);
    const posted = [
      await postMessage(testApp, alice, room.id, { body: 'one' }),
      await postMessage(testApp, alice, room.id, { body: 'two' }),
    ];
    const socket = await clients.connect(testApp, alice);
    await socket.request('join', { roomId: room.id }, 'joined');
    await clients
      .connect(testApp, alice)
      .then((second) => second.request('join', { roomId: room.id }, 'joined'));

    const view = await expectStatus(
      getConsoleRoom({ client: as(operator), path: { roomId: room.id } }),
      200,
    );
    expect(view.room).toMatchObject({ id: room.id, lastSeq: 2, ownerId: alice.id });
    expect(view.liveMembers).toEqual([
      {
        userId: alice.id,
        username: alice.registration.username,
        connections: 2,
        instances: [expect.any(String)],
      },
    ]);
    expect(view.liveMembersTotal).toBe(1);
    expect(view.lastEntries.map((entry) => entry.seq)).toEqual([2, 1]);
    expect(view.lastEntries[0]).toMatchObject({ kind: 'message', senderId: alice.id });
    expect(JSON.stringify(view)).not.toContain(posted[0].body);
    expect(view).toMatchObject({ instancesAnswered: 1, instancesAsked: 1 });

    const missing = await getConsoleRoom({ client: as(operator), path: { roomId: MISSING_ID } });
    expect(missing.response.status).toBe(404);
    const bad = await fetch(`${testApp.url}/api/console/rooms/not-a-uuid`, {
      headers: { Authorization: `Bearer ${operator.accessToken}` },
    });
    expect(bad.status).toBe(400);
  });

  it("closes a user's connections (1008) and leaves others open; audited", async () => {
    const bob = await registerUser(testApp);
    const bobSockets = [await clients.connect(testApp, bob), await clients.connect(testApp, bob)];
    const aliceSocket = await clients.connect(testApp, alice);

    const outcome = await expectStatus(
      disconnectConsoleUser({ client: as(operator), path: { userId: bob.id } }),
      200,
    );

    expect(outcome).toEqual({
      userId: bob.id,
      closedConnections: 2,
      instancesAnswered: 1,
      instancesAsked: 1,
    });
    for (const socket of bobSockets) {
      expect(await socket.closed).toEqual({
        code: CloseCode.PolicyViolation,
        reason: 'Closed by an operator',
      });
    }
    expect((await aliceSocket.request('ping', {}, 'pong')).event).toBe('pong');
    const unknown = await disconnectConsoleUser({
      client: as(operator),
      path: { userId: MISSING_ID },
    });
    expect(unknown.response.status).toBe(404);
  });

  it('removes a member from a room (left, live) but never its owner (409)', async () => {
    const carol = await registerUser(testApp);
    const room = await createRoom(testApp, alice, { visibility: 'private' });
    await expectStatus(
      addRoomMember({
        client: as(alice),
        path: { id: room.id },
        body: { userId: carol.id },
      }),
      201,
    );
    const carolSocket = await clients.connect(testApp, carol);
    await carolSocket.request('join', { roomId: room.id }, 'joined');

    const removed = await removeConsoleRoomMember({
      client: as(operator),
      path: { roomId: room.id, userId: carol.id },
    });

    expect(removed.response.status).toBe(204);
    expect((await carolSocket.next('left')).data).toEqual({ roomId: room.id });
    expect(await listMemberIds(testApp, alice, room.id)).toEqual([alice.id]);
    const owner = await removeConsoleRoomMember({
      client: as(operator),
      path: { roomId: room.id, userId: alice.id },
    });
    expect(owner.response.status).toBe(409);
    expect(owner.error).toMatchObject({ code: 'owner_cannot_leave' });
    expect(await listMemberIds(testApp, alice, room.id)).toEqual([alice.id]);
  });
});

describe('operator console while CONSOLE_USERS names nobody (e2e)', () => {
  it('every console route and watchFleet answer as if there were no console', async () => {
    const testApp = await startTestApp();
    try {
      const user = await registerUser(testApp);
      const { response, error } = await getConsoleFleet({
        client: apiClient(testApp, user.accessToken),
      });
      expect(response.status).toBe(404);
      expect(error).toMatchObject({ code: 'not_found' });
      const socket = await WsTestClient.connect(testApp.url, { token: user.accessToken });
      expect((await socket.request('watchFleet', {}, 'error')).data).toMatchObject({
        code: 'not_found',
      });
      // The positive control: the socket and the API serve everything else.
      expect((await socket.request('ping', {}, 'pong')).event).toBe('pong');
      await socket.closeAndWait();
      const metrics = await fetch(`${testApp.url}/metrics`);
      expect(metrics.status).toBe(200);
    } finally {
      await testApp.close();
    }
  });
});
