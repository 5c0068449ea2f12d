import { marksDue, marksInRound, writeBound } from './mark-pacing';

describe('marksDue', () => {
  const pacing = { readers: 100, intervalMs: 100, seconds: 5 };

  it('spreads the readers evenly over each interval, one mark per reader per interval', () => {
    expect(marksDue(pacing, 0)).toBe(1);
    expect(marksDue(pacing, 50)).toBe(51);
    expect(marksDue(pacing, 99.9)).toBe(100);
    expect(marksDue(pacing, 100)).toBe(101);
    // Round-robin: mark n goes to reader n % readers, so after k intervals each reader marked k times.
    expect(marksDue(pacing, 999.9) % pacing.readers).toBe(0);
    expect(marksDue(pacing, 999.9) / pacing.readers).toBe(10);
  });

  it('stops at the round total however late it is asked', () => {
    expect(marksInRound(pacing)).toBe(5000);
    expect(marksDue(pacing, 4999.9)).toBe(5000);
    expect(marksDue(pacing, 60_000)).toBe(5000);
    expect(marksDue(pacing, -10)).toBe(1);
  });
});

describe('writeBound', () => {
  it('allows one write per reader per server interval while marking, and one after', () => {
    expect(writeBound(100, 5, 1000)).toBe(600);
    expect(writeBound(100, 5.3, 1000)).toBe(700);
    expect(writeBound(1, 0.5, 1000)).toBe(2);
  });
});
