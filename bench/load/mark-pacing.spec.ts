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
    // Marks from 0 to 4.99 s: writes at 0, 1, 2, 3, 4 s and the merged rest at 5 s.
    expect(writeBound(100, 4.99, 1000)).toBe(600);
    // A last mark at 5 s may come just after the write of 5 s began: one more at 6 s.
    expect(writeBound(100, 5, 1000)).toBe(700);
    // A single mark: its own write (the bound leaves room for one more).
    expect(writeBound(1, 0, 1000)).toBe(2);
  });
});
