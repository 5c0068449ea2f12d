import { aliceWatchesBobOnTheSecondInstance } from '@test/support/presence-helpers';
import { useProcessFleet } from '@test/support/process-fleet';
import { sleep } from '@test/support/wait-until';

/**
 * Longer than the stalls a saturated instance showed in the full-size scale run (2.5–3.2 s),
 * and longer than the 4 s presence lease of the previous release.
 */
const STALL_MS = 6_000;
/** How long a frame that must not come gets to show up after the instance runs again. */
const QUIET_MS = 2_000;

/**
 * Issue 20: an instance that stalls (a long GC, a starved core) is not taken for dead. With the
 * default PRESENCE_INSTANCE_TTL_MS (15 s), a survivor announces nobody offline during a 6 s
 * freeze, and nobody online again after it; presence still works (the positive control: the user
 * leaving is announced once). At 4 s, each such stall announced the instance's users offline and
 * then online again, thousands of frames per stall at 15,000 sockets.
 */
describe('presence of an instance that stalls for a few seconds (services)', () => {
  const fleet = useProcessFleet(2);

  it('announces nothing for a 6 s stall, and offline once when the user really leaves', async () => {
    const [, stalled] = fleet.instances;
    const watch = await aliceWatchesBobOnTheSecondInstance(fleet);

    stalled.signal('SIGSTOP');
    try {
      await sleep(STALL_MS);
    } finally {
      stalled.signal('SIGCONT');
    }
    await sleep(QUIET_MS);
    expect(watch.aliceWatching.received('presence')).toEqual([]);

    await watch.bobLeavesAndIsAnnouncedOnce(QUIET_MS);
  });
});
