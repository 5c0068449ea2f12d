import { PresenceStatus } from '@libs/client';
import { registerUser, RegisteredUser } from '@test/support/auth-helpers';
import { RedisServerProcess } from '@test/support/redis-server-process';
import { addMember, createRoom } from '@test/support/room-helpers';
import { createServerSetup, ServerProcess, ServerSetup } from '@test/support/server-process';
import { requireTestDatabaseUrl } from '@test/support/test-database';
import { requireTestRedisUrl } from '@test/support/test-redis';
import { sleep } from '@test/support/wait-until';
import { WsTestClient } from '@test/support/ws-test-client';

/** The instance heartbeat expires after 4 s and survivors look every second: a few seconds. */
const OFFLINE_WITHIN_MS = 8_000;
/** How long a frame that must not come gets to show up. */
const QUIET_MS = 1_500;

/**
 * A crashed instance's users go offline within seconds: three server processes on one Redis,
 * the one holding Bob's connection killed with SIGKILL (no goodbye from its sockets); each of
 * the two survivors' members hears `offline` once, for the users whose last connection it was.
 */
describe('presence of a dead instance (services)', () => {
  let redis: RedisServerProcess;
  let setup: ServerSetup;
  let survivorA: ServerProcess;
  let survivorC: ServerProcess;
  let doomed: ServerProcess;
  const clients: WsTestClient[] = [];

  const connect = async (instance: ServerProcess, user: RegisteredUser) => {
    const client = await WsTestClient.connect(instance.url, { token: user.accessToken });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    requireTestDatabaseUrl();
    requireTestRedisUrl();
    redis = await RedisServerProcess.start();
    // No load shedding: this machine may be busy, and the suite is not about overload.
    setup = await createServerSetup({ REDIS_URL: redis.url, SHED_MAX_EVENT_LOOP_DELAY_MS: '0' });
    [survivorA, survivorC, doomed] = await Promise.all([
      ServerProcess.start(setup.environment),
      ServerProcess.start(setup.environment),
      ServerProcess.start(setup.environment),
    ]);
  });

  afterAll(async () => {
    for (const client of clients) {
      client.close();
    }
    await Promise.all([survivorA?.kill(), survivorC?.kill(), doomed?.kill()]);
    await setup?.remove();
    await redis?.stop();
  });

  it("announces offline once for the killed instance's users, not for those still connected elsewhere", async () => {
    const alice = await registerUser(survivorA);
    const bob = await registerUser(survivorA);
    const carol = await registerUser(survivorA);
    const room = await createRoom(survivorA, alice);
    await addMember(survivorA, alice, room.id, bob.id);
    await addMember(survivorA, alice, room.id, carol.id);
    const is = (user: RegisteredUser, status: PresenceStatus) => ({
      roomId: room.id,
      userId: user.id,
      status,
    });

    const aliceOnA = await connect(survivorA, alice);
    const aliceOnC = await connect(survivorC, alice);
    await aliceOnA.request('join', { roomId: room.id }, 'joined');
    expect((await aliceOnA.next('presence')).data).toEqual(is(alice, 'online'));
    await aliceOnC.request('join', { roomId: room.id }, 'joined');
    // Carol has a connection on the doomed instance and one on a survivor; Bob only the first.
    const bobOnDoomed = await connect(doomed, bob);
    await bobOnDoomed.request('join', { roomId: room.id }, 'joined');
    const carolOnDoomed = await connect(doomed, carol);
    await carolOnDoomed.request('join', { roomId: room.id }, 'joined');
    const carolOnA = await connect(survivorA, carol);
    await carolOnA.request('join', { roomId: room.id }, 'joined');
    for (const watcher of [aliceOnA, aliceOnC]) {
      const online = [];
      for (let index = 0; index < 2; index += 1) {
        online.push((await watcher.next('presence')).data);
      }
      expect(online).toEqual(expect.arrayContaining([is(bob, 'online'), is(carol, 'online')]));
    }
    await sleep(QUIET_MS);
    // Nothing for Carol's second connection.
    expect(aliceOnA.received('presence')).toEqual([]);
    expect(aliceOnC.received('presence')).toEqual([]);

    const killedAt = Date.now();
    await doomed.kill();

    const offlineOnA = await aliceOnA.next('presence', OFFLINE_WITHIN_MS);
    const offlineOnC = await aliceOnC.next('presence', OFFLINE_WITHIN_MS);
    expect(Date.now() - killedAt).toBeLessThan(OFFLINE_WITHIN_MS);
    expect(offlineOnA.data).toEqual(is(bob, 'offline'));
    expect(offlineOnC.data).toEqual(is(bob, 'offline'));

    await sleep(QUIET_MS);
    // Once, though two survivors were looking; and Carol is still here.
    expect(aliceOnA.received('presence')).toEqual([]);
    expect(aliceOnC.received('presence')).toEqual([]);
    await carolOnA.closeAndWait();
    expect((await aliceOnA.next('presence')).data).toEqual(is(carol, 'offline'));
  });
});
