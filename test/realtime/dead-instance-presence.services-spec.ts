import { registerUser } from '@test/support/auth-helpers';
import {
  FAST_DEATH_ENVIRONMENT,
  INSTANCE_OFFLINE_WITHIN_MS,
  presenceIn,
} from '@test/support/presence-helpers';
import { useProcessFleet } from '@test/support/process-fleet';
import { addMember, createRoom } from '@test/support/room-helpers';
import { sleep } from '@test/support/wait-until';

/** How long a frame that must not come gets to show up. */
const QUIET_MS = 1_500;

/**
 * A crashed instance's users go offline within seconds: three server processes on one Redis,
 * the one holding Bob's connection killed with SIGKILL (no goodbye from its sockets); each of
 * the two survivors' members hears `offline` once, for the users whose last connection it was.
 */
describe('presence of a dead instance (services)', () => {
  const fleet = useProcessFleet(3, FAST_DEATH_ENVIRONMENT);
  const connect = fleet.connect;

  it("announces offline once for the killed instance's users, not for those still connected elsewhere", async () => {
    const [survivorA, survivorC, doomed] = fleet.instances;
    const alice = await registerUser(survivorA);
    const bob = await registerUser(survivorA);
    const carol = await registerUser(survivorA);
    const room = await createRoom(survivorA, alice);
    await addMember(survivorA, alice, room.id, bob.id);
    await addMember(survivorA, alice, room.id, carol.id);
    const is = presenceIn(room);

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

    const offlineOnA = await aliceOnA.next('presence', INSTANCE_OFFLINE_WITHIN_MS);
    const offlineOnC = await aliceOnC.next('presence', INSTANCE_OFFLINE_WITHIN_MS);
    expect(Date.now() - killedAt).toBeLessThan(INSTANCE_OFFLINE_WITHIN_MS);
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
