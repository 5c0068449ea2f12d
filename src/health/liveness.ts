/** Where load balancers and orchestrators ask whether the process answers. */
export const LIVENESS_PATH = '/health';

/** The liveness answer: the process answers. */
export function liveness(): { status: 'ok' } {
  return { status: 'ok' };
}
