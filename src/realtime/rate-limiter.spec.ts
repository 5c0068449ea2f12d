import { TokenBucket } from './rate-limiter';

describe(TokenBucket.name, () => {
  let now = 0;
  const clock = () => now;

  beforeEach(() => {
    now = 1_000_000;
  });

  it('allows a burst, then refuses', () => {
    const bucket = new TokenBucket(10, 3, clock);

    const taken = Array.from({ length: 5 }, () => bucket.tryTake());

    expect(taken).toEqual([true, true, true, false, false]);
  });

  it('refills at the rate, never past the burst', () => {
    const bucket = new TokenBucket(10, 3, clock);
    for (let i = 0; i < 3; i++) {
      bucket.tryTake();
    }

    now += 100;
    expect(bucket.tryTake()).toBe(true);
    expect(bucket.tryTake()).toBe(false);

    now += 60_000;
    expect(Array.from({ length: 4 }, () => bucket.tryTake())).toEqual([true, true, true, false]);
  });
});
