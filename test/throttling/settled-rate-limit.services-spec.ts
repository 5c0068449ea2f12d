import { randomBytes } from 'node:crypto';
import { RedisConnection } from '@libs/redis';
import { SettledRateLimit } from '@app/throttling/settled-rate-limit';
import { RedisServerProcess } from '@test/support/redis-server-process';
import { requireTestRedisUrl } from '@test/support/test-redis';

const LIMIT = { limit: 5, ttlMs: 60_000 };

describe('SettledRateLimit on Redis (services)', () => {
  const keyPrefix = `switchboard-test-${randomBytes(4).toString('hex')}:`;
  const connections: RedisConnection[] = [];

  async function anInstance(url = requireTestRedisUrl()): Promise<SettledRateLimit> {
    const connection = new RedisConnection({ url, keyPrefix });
    await connection.connect();
    connections.push(connection);
    return new SettledRateLimit('ws-connect', LIMIT, connection);
  }

  afterAll(async () => {
    const [first] = connections;
    if (first?.available) {
      const keys = await first.client.keys(`{${keyPrefix}*`);
      if (keys.length > 0) {
        await first.client.del(...keys);
      }
    }
    await Promise.all(connections.map((connection) => connection.close()));
  });

  it('holds one limit over the fleet: counts settle into Redis, and a block reaches every instance', async () => {
    const [a, b] = [await anInstance(), await anInstance()];
    const hits = (limiter: SettledRateLimit, count: number, key = 'ws-connect:10.0.0.1') =>
      Array.from({ length: count }, () => limiter.hit(key));

    expect(hits(a, 3)).toEqual([0, 0, 0]);
    await a.settle();
    expect(hits(b, 2)).toEqual([0, 0]);
    await b.settle();
    // B has seen the fleet's 5: its next attempt is the sixth, refused at once.
    expect(b.hit('ws-connect:10.0.0.1')).toBeGreaterThan(0);
    // A settled before B counted: it lets one more through (the documented lag)...
    expect(a.hit('ws-connect:10.0.0.1')).toBe(0);
    await a.settle();
    // ...and refuses from its next settle on, as the fleet's block says.
    expect(a.hit('ws-connect:10.0.0.1')).toBeGreaterThan(0);
    // Positive control: another address is counted on its own.
    expect(hits(a, 5, 'ws-connect:10.0.0.2')).toEqual([0, 0, 0, 0, 0]);
  });

  it('counts per instance while Redis is away, and settles nothing it cannot', async () => {
    const redis = await RedisServerProcess.start();
    try {
      const limiter = await anInstance(redis.url);
      expect(limiter.hit('ws-connect:10.0.0.3')).toBe(0);
      await limiter.settle();
      await redis.stop();

      const whileAway = Array.from({ length: 5 }, () => limiter.hit('ws-connect:10.0.0.3'));
      await limiter.settle();

      // The local count goes on from the settled one: the window's sixth attempt is refused.
      expect(whileAway.slice(0, 4)).toEqual([0, 0, 0, 0]);
      expect(whileAway[4]).toBeGreaterThan(0);
    } finally {
      await redis.stop();
    }
  });
});
