import type { PresenceStatus } from '@libs/client';
import { registerUser } from './auth-helpers';
import type { ProcessFleet } from './process-fleet';
import { addMember, createRoom } from './room-helpers';
import { sleep } from './wait-until';

/**
 * Servers of a suite that waits for a dead instance's users to go offline: taken for dead after
 * 4 s of silence rather than the default 15 s, so the suite does not wait that long.
 */
export const FAST_DEATH_ENVIRONMENT = { PRESENCE_INSTANCE_TTL_MS: '4000' };

/**
 * With FAST_DEATH_ENVIRONMENT, a crashed or frozen instance's users go offline within this: its
 * heartbeat expires after 4 s and the survivors look every second.
 */
export const INSTANCE_OFFLINE_WITHIN_MS = 8_000;

/** The `presence` data that members of `room` get when a user comes (`online`) or goes. */
export function presenceIn(room: { id: string }) {
  return (user: { id: string }, status: PresenceStatus) => ({
    roomId: room.id,
    userId: user.id,
    status,
  });
}

/**
 * Alice on the fleet's first instance and Bob on its second, both in one room, each one's
 * `online` heard by Alice: where the suites that stall or kill Bob's instance begin.
 */
export async function aliceWatchesBobOnTheSecondInstance(fleet: ProcessFleet) {
  const [watching, other] = fleet.instances;
  const alice = await registerUser(watching);
  const bob = await registerUser(watching);
  const room = await createRoom(watching, alice);
  await addMember(watching, alice, room.id, bob.id);
  const is = presenceIn(room);
  const aliceWatching = await fleet.connect(watching, alice);
  await aliceWatching.request('join', { roomId: room.id }, 'joined');
  expect((await aliceWatching.next('presence')).data).toEqual(is(alice, 'online'));
  const bobOnOther = await fleet.connect(other, bob);
  await bobOnOther.request('join', { roomId: room.id }, 'joined');
  expect((await aliceWatching.next('presence')).data).toEqual(is(bob, 'online'));
  return {
    bob,
    is,
    aliceWatching,
    /** Bob closes his socket: Alice hears `offline` once (he was registered for real). */
    async bobLeavesAndIsAnnouncedOnce(quietMs: number): Promise<void> {
      await bobOnOther.closeAndWait();
      expect((await aliceWatching.next('presence')).data).toEqual(is(bob, 'offline'));
      await sleep(quietMs);
      expect(aliceWatching.received('presence')).toEqual([]);
    },
  };
}
