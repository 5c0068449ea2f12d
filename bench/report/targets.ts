/** A PRODUCT.md performance target: the ratio to the baseline a figure must reach. */
export interface Target {
  comparison: 'at-least' | 'at-most';
  ratio: number;
}

const atLeast = (ratio: number): Target => ({ comparison: 'at-least', ratio });
const atMost = (ratio: number): Target => ({ comparison: 'at-most', ratio });

/**
 * The table "Performance" of PRODUCT.md, each against the baseline it names there. Change it
 * together with PRODUCT.md. Figures PRODUCT.md sets no target for (the fan-out p99, one SQLite
 * connection's latency) are reported without one.
 */
export const TARGETS = {
  cachedRead: atLeast(0.4),
  health: atLeast(0.6),
  uncachedRead: atLeast(0.35),
  usersMe: atLeast(0.4),
  handshakeCpuPerConnection: atMost(2),
  handshakeWithRedisBesideSocketIo: atMost(1),
  idleRssWithRedisBesideSocketIo: atMost(1),
  idleHeapPerConnection: atMost(1.5),
  fanoutDeliveriesPerSecond: atLeast(0.9),
  sqlitePostsGroupCommit: atLeast(0.6),
  postgresPosts: atLeast(3),
} as const;

export function describeTarget(target: Target): string {
  return `${target.comparison === 'at-least' ? '≥' : '≤'} ${target.ratio} ×`;
}
