/** A PRODUCT.md performance target: the ratio to the baseline a figure must reach. */
export interface Target {
  comparison: 'at-least' | 'at-most';
  ratio: number;
}

const atLeast = (ratio: number): Target => ({ comparison: 'at-least', ratio });
const atMost = (ratio: number): Target => ({ comparison: 'at-most', ratio });

/**
 * The table "Performance" of PRODUCT.md, with the write-path (issue 12) and real-time (issue 13)
 * targets that refine it. Change it together with PRODUCT.md.
 */
export const TARGETS = {
  cachedRead: atLeast(0.5),
  health: atLeast(0.45),
  uncachedRead: atLeast(0.2),
  handshakeCpuPerConnection: atMost(1.5),
  idleHeapPerConnection: atMost(1.5),
  fanoutDeliveriesPerSecond: atLeast(0.9),
  fanoutP99: atMost(1.2),
  sqlitePostsGroupCommit: atLeast(0.5),
  sqliteOneConnectionLatency: atMost(2),
  postgresPosts: atLeast(1),
} as const;

export function describeTarget(target: Target): string {
  return `${target.comparison === 'at-least' ? '≥' : '≤'} ${target.ratio} ×`;
}
