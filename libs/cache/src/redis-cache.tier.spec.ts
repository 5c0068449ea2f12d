import { Logger } from '@nestjs/common';
import { InProcessCacheInvalidationChannel } from './cache-invalidation.channel';
import { CacheMetrics } from './cache-metrics';
import { DEFAULT_MEMORY_OPTIONS, DEFAULT_REDIS_OPTIONS, RedisTierOptions } from './cache-options';
import { CacheService } from './cache.service';
import { MemoryCacheTier } from './memory-cache.tier';
import { RedisCacheTier, RedisTierClient } from './redis-cache.tier';
import { INVALIDATE_TAGS_SCRIPT, SET_IF_CURRENT_SCRIPT } from './redis-scripts';

type Mode = 'ok' | 'throws' | 'hangs';

/**
 * A Redis client that answers (as an empty Redis would), throws, or never answers. Enough of
 * node-redis for `@keyv/redis` and for the tier's own commands.
 */
class FakeRedisClient implements RedisTierClient {
  mode: Mode = 'ok';
  /** While set, scripts wait for it before answering. */
  scriptGate: Promise<void> | undefined;
  readonly evals: { script: string; keys: string[] }[] = [];
  readonly isOpen = true;
  private readonly listeners = new Map<string, ((error?: Error) => void)[]>();

  get isReady(): boolean {
    return this.mode === 'ok';
  }

  connect = () => this.answer(undefined);
  close = () => Promise.resolve();
  destroy = () => undefined;
  ping = () => this.answer('PONG');
  get = () => this.answer(null);
  set = () => this.answer('OK');
  unlink = () => this.answer(0);
  mGet = (keys: string[]) => this.answer(keys.map(() => null));
  eval = async (script: string, options: { keys: string[]; arguments: string[] }) => {
    const answer = this.answer(script === SET_IF_CURRENT_SCRIPT ? 1 : 0);
    if (this.mode === 'ok') {
      this.evals.push({ script, keys: options.keys });
      await this.scriptGate;
    }
    return answer;
  };

  async *scanIterator(): AsyncIterable<string[]> {
    yield await this.answer([]);
  }

  on(event: 'error' | 'ready', listener: (error?: Error) => void): this {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    return this;
  }

  emit(event: 'error' | 'ready', error?: Error): void {
    for (const listener of this.listeners.get(event) ?? []) {
      listener(error);
    }
  }

  private answer<T>(value: T): Promise<T> {
    if (this.mode === 'throws') {
      return Promise.reject(new Error('The client is offline'));
    }
    if (this.mode === 'hangs') {
      return new Promise<T>(() => undefined);
    }
    return Promise.resolve(value);
  }
}

const OPTIONS: RedisTierOptions = {
  ...DEFAULT_REDIS_OPTIONS,
  url: 'redis://fake',
  keyPrefix: 'test:',
  commandTimeoutMs: 50,
  retryIntervalMs: 20,
  connectTimeoutMs: 50,
};

async function startCache(mode: Mode) {
  const client = new FakeRedisClient();
  client.mode = mode;
  const metrics = new CacheMetrics();
  const redis = new RedisCacheTier(client, OPTIONS, metrics);
  const memory = new MemoryCacheTier({ ...DEFAULT_MEMORY_OPTIONS, maxTtlMs: 5_000 }, metrics);
  const service = new CacheService(
    memory,
    redis,
    new InProcessCacheInvalidationChannel(),
    metrics,
    {
      memory: DEFAULT_MEMORY_OPTIONS,
    },
  );
  await redis.onModuleInit();
  service.onModuleInit();
  return { client, metrics, redis, service };
}

/** Polls `condition` every 10 ms for at most `timeoutMs`. */
async function waitFor(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`condition not met within ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const entry = (key: string) => ({ key, tags: ['room:1'], ttlMs: 30_000 });

describe(RedisCacheTier.name, () => {
  let warn: jest.SpyInstance;
  let log: jest.SpyInstance;
  let tiers: RedisCacheTier[] = [];

  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });

  afterEach(async () => {
    await Promise.all(tiers.map((tier) => tier.onModuleDestroy()));
    tiers = [];
    jest.restoreAllMocks();
  });

  async function start(mode: Mode) {
    const cache = await startCache(mode);
    tiers.push(cache.redis);
    return cache;
  }

  it('stores and invalidates through Redis while it answers', async () => {
    const { client, service, redis } = await start('ok');

    await service.getOrLoad(entry('k'), () => Promise.resolve('page'));
    await service.invalidateTags(['room:1']);

    expect(redis.health()).toBe('up');
    expect(client.evals.map((call) => call.script)).toEqual([
      SET_IF_CURRENT_SCRIPT,
      INVALIDATE_TAGS_SCRIPT,
    ]);
    expect(client.evals[0].keys).toEqual([
      'test:cache:entry:k',
      'test:cache:gen:room:1',
      'test:cache:tag:room:1',
    ]);
    expect(warn).not.toHaveBeenCalled();
  });

  describe.each<Mode>(['throws', 'hangs'])('when Redis %s', (mode) => {
    it('serves from the loader, fast, with one warning per outage', async () => {
      const { client, service, redis, metrics } = await start('ok');
      client.mode = mode;
      const loader = jest.fn((key: string) => Promise.resolve(`page ${key}`));

      const started = Date.now();
      const results = [];
      for (const key of ['a', 'b', 'c', 'd']) {
        results.push(await service.getOrLoad(entry(key), () => loader(key)));
      }
      const elapsed = Date.now() - started;

      expect(results.map((result) => result.value)).toEqual([
        'page a',
        'page b',
        'page c',
        'page d',
      ]);
      expect(loader).toHaveBeenCalledTimes(4);
      // Only the first read waits for the command timeout; the others skip Redis.
      expect(elapsed).toBeLessThan(OPTIONS.commandTimeoutMs * 3);
      expect(redis.health()).toBe('degraded');
      expect(warn).toHaveBeenCalledTimes(1);
      expect(metrics.snapshot().tiers.redis.errors).toBe(1);
      // Memory still works.
      expect((await service.getOrLoad(entry('a'), () => loader('a'))).source).toBe('memory');
    });

    it('comes back by itself, replaying the invalidations it missed first', async () => {
      const { client, service, redis } = await start('ok');
      client.mode = mode;
      await service.getOrLoad(entry('a'), () => Promise.resolve('page'));
      await service.invalidateTags(['room:2']);
      expect(redis.health()).toBe('degraded');

      client.mode = 'ok';
      await waitFor(() => redis.health() === 'up');

      expect(client.evals).toEqual([
        {
          script: INVALIDATE_TAGS_SCRIPT,
          keys: ['test:cache:gen:room:2', 'test:cache:tag:room:2'],
        },
      ]);
      expect(log).toHaveBeenCalledWith(expect.stringMatching(/Redis cache tier is back/));
      await service.getOrLoad(entry('b'), () => Promise.resolve('page'));
      expect(client.evals.at(-1)?.script).toBe(SET_IF_CURRENT_SCRIPT);
    });

    it('does not hold up start-up', async () => {
      const started = Date.now();
      const { service, redis } = await start(mode);

      expect(Date.now() - started).toBeLessThan(OPTIONS.connectTimeoutMs * 4);
      expect(redis.health()).toBe('degraded');
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/not reachable at start-up/));
      expect((await service.getOrLoad(entry('k'), () => Promise.resolve('page'))).value).toBe(
        'page',
      );
    });
  });

  it('replays invalidations made while it was replaying, before it is used again', async () => {
    const { client, service, redis } = await start('ok');
    client.mode = 'throws';
    await service.invalidateTags(['room:2']);
    let openGate!: () => void;
    client.scriptGate = new Promise((resolve) => (openGate = resolve));

    client.mode = 'ok';
    await waitFor(() => client.evals.length === 1); // the replay of room:2, held at the gate
    await service.invalidateTags(['room:3']); // the tier is not up yet: kept for replay
    openGate();
    await waitFor(() => redis.health() === 'up');

    expect(client.evals.map((call) => call.keys)).toEqual([
      ['test:cache:gen:room:2', 'test:cache:tag:room:2'],
      ['test:cache:gen:room:3', 'test:cache:tag:room:3'],
    ]);
  });

  it('takes the tier down on a client error event, and back up on ready', async () => {
    const { client, redis } = await start('ok');

    client.emit('error', new Error('connection reset'));
    client.emit('error', new Error('connection refused'));
    expect(redis.health()).toBe('degraded');
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/connection reset/));

    client.emit('ready');
    await waitFor(() => redis.health() === 'up');
  });
});
