import type { PresenceStatus } from '@libs/client';

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
