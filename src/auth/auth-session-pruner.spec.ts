import { AuthSessionPruner, PRUNE_BATCH, PRUNE_MAX_BATCHES } from './auth-session-pruner';
import { AuthSessionsRepository } from './auth-sessions.repository';

/** A repository whose table holds `expired` expired sessions. */
function repositoryWith(expired: number) {
  let left = expired;
  const calls: { before: Date; limit: number }[] = [];
  const repository: Pick<AuthSessionsRepository, 'deleteExpired'> = {
    deleteExpired: (before, limit) => {
      calls.push({ before, limit });
      const deleted = Math.min(left, limit);
      left -= deleted;
      return Promise.resolve(deleted);
    },
  };
  return { repository, calls, left: () => left };
}

describe(AuthSessionPruner.name, () => {
  const now = new Date('2026-12-01T12:00:00Z');

  it('deletes in batches until a batch is not full', async () => {
    const table = repositoryWith(2 * PRUNE_BATCH + 12);

    expect(await new AuthSessionPruner(table.repository).prune(now)).toBe(2 * PRUNE_BATCH + 12);
    expect(table.calls).toHaveLength(3);
    expect(table.calls.every((call) => call.limit === PRUNE_BATCH && call.before === now)).toBe(
      true,
    );
    expect(table.left()).toBe(0);
  });

  it('stops after its bound of batches in one run; the next run goes on', async () => {
    const table = repositoryWith(PRUNE_BATCH * PRUNE_MAX_BATCHES + 1);
    const pruner = new AuthSessionPruner(table.repository);

    expect(await pruner.prune(now)).toBe(PRUNE_BATCH * PRUNE_MAX_BATCHES);
    expect(table.calls).toHaveLength(PRUNE_MAX_BATCHES);
    expect(await pruner.prune(now)).toBe(1);
  });
});
