import { UpgradeAdmission } from './upgrade-admission';

describe(UpgradeAdmission.name, () => {
  it('admits a burst at once, then one upgrade per 1/rate seconds', () => {
    let now = 0;
    const admission = new UpgradeAdmission(
      { ratePerSecond: 10, burst: 3, concurrency: 100 },
      () => now,
    );
    const admit = () => {
      const refusal = admission.tryAdmit();
      if (!refusal) {
        admission.release();
      }
      return refusal ?? 'admitted';
    };

    expect([admit(), admit(), admit(), admit()]).toEqual([
      'admitted',
      'admitted',
      'admitted',
      'accept_rate',
    ]);
    now += 99;
    expect(admit()).toBe('accept_rate');
    now += 1;
    expect(admit()).toBe('admitted');
    expect(admit()).toBe('accept_rate');
  });

  it('holds at most `concurrency` upgrades being verified; a release makes room', () => {
    const admission = new UpgradeAdmission({ ratePerSecond: 1000, burst: 1000, concurrency: 2 });

    expect([admission.tryAdmit(), admission.tryAdmit()]).toEqual([undefined, undefined]);
    expect(admission.tryAdmit()).toBe('accept_concurrency');
    expect(admission.inFlight).toBe(2);
    admission.release();
    expect(admission.tryAdmit()).toBeUndefined();
  });

  it('spends no token on an upgrade refused for concurrency', () => {
    const now = 0;
    const admission = new UpgradeAdmission(
      { ratePerSecond: 1, burst: 2, concurrency: 1 },
      () => now,
    );

    expect(admission.tryAdmit()).toBeUndefined();
    expect(admission.tryAdmit()).toBe('accept_concurrency');
    expect(admission.tryAdmit()).toBe('accept_concurrency');
    admission.release();
    // The second token is still there.
    expect(admission.tryAdmit()).toBeUndefined();
  });
});
