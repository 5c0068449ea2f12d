import { median, percentile, spreadOf } from './statistics';

describe('statistics', () => {
  it('takes the median of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('interpolates percentiles between ranks', () => {
    expect(percentile([10, 20, 30, 40, 50], 0)).toBe(10);
    expect(percentile([10, 20, 30, 40, 50], 100)).toBe(50);
    expect(percentile([10, 20], 99)).toBeCloseTo(19.9);
  });

  it('spreads rounds into median, min and max', () => {
    expect(spreadOf([5, 9, 7])).toEqual({ median: 7, min: 5, max: 9 });
  });
});
