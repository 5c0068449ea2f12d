import { instanceStateOf, ReadinessReport } from './readiness';

function report(
  httpStatus: 200 | 503,
  status: 'ok' | 'error' | 'shutting_down',
  degraded: string[] = [],
): ReadinessReport {
  return { httpStatus, result: { status, details: {}, degraded } };
}

describe(instanceStateOf.name, () => {
  it('reads ready, degraded, draining and not ready from what /health/ready answers', () => {
    expect(instanceStateOf(report(200, 'ok'))).toBe('ready');
    expect(instanceStateOf(report(200, 'ok', ['bus', 'cache']))).toBe('degraded');
    expect(instanceStateOf(report(503, 'shutting_down'))).toBe('draining');
    expect(instanceStateOf(report(503, 'error'))).toBe('not_ready');
    expect(instanceStateOf(report(503, 'error', ['cache']))).toBe('not_ready');
  });
});
