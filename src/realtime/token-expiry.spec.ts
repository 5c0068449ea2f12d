import { Expiring, EXPIRY_RESOLUTION_MS, TokenExpirySchedule } from './token-expiry';

function item(expiresAtMs: number): Expiring & { expired: number; isOpen: boolean } {
  return {
    expiresAtMs,
    expiryBucket: undefined,
    isOpen: true,
    expired: 0,
    expire() {
      this.expired += 1;
    },
  };
}

describe('TokenExpirySchedule', () => {
  it('expires an item once its time has passed, never before, and only once', () => {
    const schedule = new TokenExpirySchedule();
    const at = 1_000_000_500;
    const token = item(at);
    schedule.schedule(token);

    schedule.expireDue(at - 1);
    expect(token.expired).toBe(0);
    schedule.expireDue(at + EXPIRY_RESOLUTION_MS);
    schedule.expireDue(at + 2 * EXPIRY_RESOLUTION_MS);
    expect(token.expired).toBe(1);
  });

  it('a renewed item expires with its new time; a cancelled one never', () => {
    const schedule = new TokenExpirySchedule();
    const renewed = item(1_000_000_000);
    const cancelled = item(1_000_000_000);
    schedule.schedule(renewed);
    schedule.schedule(cancelled);

    (renewed as { expiresAtMs: number }).expiresAtMs = 1_000_060_000;
    schedule.schedule(renewed);
    schedule.cancel(cancelled);
    schedule.expireDue(1_000_030_000);
    expect(renewed.expired).toBe(0);
    expect(cancelled.expired).toBe(0);

    schedule.expireDue(1_000_061_000);
    expect(renewed.expired).toBe(1);
    expect(cancelled.expired).toBe(0);
  });

  it('a renewal that arrives after the connection closed does not schedule it again', () => {
    const schedule = new TokenExpirySchedule();
    const connection = item(1_000_000_000);
    schedule.schedule(connection);
    // The socket closes while its `auth` frame is being verified: the registry cancels it…
    connection.isOpen = false;
    schedule.cancel(connection);
    // …and then the verified token arrives.
    (connection as { expiresAtMs: number }).expiresAtMs = 1_000_060_000;
    schedule.schedule(connection);

    schedule.expireDue(1_000_061_000);
    expect(connection.expired).toBe(0);
    expect(connection.expiryBucket).toBeUndefined();
  });

  it('counts what it holds: scheduled, rescheduled, cancelled and expired items', () => {
    const schedule = new TokenExpirySchedule();
    const at = 1_000_000_500;
    const [first, second, third] = [item(at), item(at + 5 * EXPIRY_RESOLUTION_MS), item(at)];
    schedule.schedule(first);
    schedule.schedule(second);
    schedule.schedule(third);
    schedule.schedule(second);
    expect(schedule.size).toBe(3);

    schedule.cancel(third);
    schedule.cancel(third);
    expect(schedule.size).toBe(2);
    schedule.expireDue(at + EXPIRY_RESOLUTION_MS);
    expect(schedule.size).toBe(1);
    schedule.expireDue(at + 10 * EXPIRY_RESOLUTION_MS);
    expect(schedule.size).toBe(0);
  });
});
