import {
  aliceWatchesBobOnTheSecondInstance,
  FAST_DEATH_ENVIRONMENT,
  INSTANCE_OFFLINE_WITHIN_MS,
} from '@test/support/presence-helpers';
import { useProcessFleet } from '@test/support/process-fleet';
import { sleep } from '@test/support/wait-until';

/** A thawed instance beats within a second; its breaker may need a probe (1 s) first. */
const ONLINE_AGAIN_WITHIN_MS = 10_000;
/** How long a frame that must not come gets to show up. */
const QUIET_MS = 1_500;

/**
 * Issue 20: an instance whose heartbeat stalled past the instance TTL (frozen with SIGSTOP, as a
 * long GC or a paused VM would) is taken for dead, and a survivor announces its users offline.
 * When it runs again, its connections are still open: it registers anew and announces them
 * `online` again, so that the survivors do not keep showing them offline.
 */
describe('presence of an instance taken for dead that comes back (services)', () => {
  const fleet = useProcessFleet(2, FAST_DEATH_ENVIRONMENT);

  it("announces the thawed instance's users online again, and offline once when they leave", async () => {
    const [, stalled] = fleet.instances;
    const {
      bob,
      is,
      aliceWatching: aliceOnSurvivor,
      ...watch
    } = await aliceWatchesBobOnTheSecondInstance(fleet);

    stalled.signal('SIGSTOP');
    try {
      const offline = await aliceOnSurvivor.next('presence', INSTANCE_OFFLINE_WITHIN_MS);
      expect(offline.data).toEqual(is(bob, 'offline'));
    } finally {
      stalled.signal('SIGCONT');
    }

    // Bob's socket never closed: the instance that holds it says so again.
    const online = await aliceOnSurvivor.next('presence', ONLINE_AGAIN_WITHIN_MS);
    expect(online.data).toEqual(is(bob, 'online'));
    await sleep(QUIET_MS);
    expect(aliceOnSurvivor.received('presence')).toEqual([]);

    // Registered for real, not only announced: his leaving is seen fleet-wide, once.
    await watch.bobLeavesAndIsAnnouncedOnce(QUIET_MS);
  });
});
