import type { PresenceStatus } from '@libs/client';

/**
 * A crashed or frozen instance's users go offline within this: its heartbeat expires after 4 s
 * and the survivors look every second.
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
