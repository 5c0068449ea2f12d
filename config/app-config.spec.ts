import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigValidationError, loadConfig } from './app-config';
import { environmentSchema } from './environment.schema';

describe(loadConfig.name, () => {
  it('gives the documented defaults for an empty environment', () => {
    const config = loadConfig({}, '/srv/switchboard');

    expect(config.http).toMatchObject({
      port: 3000,
      host: '0.0.0.0',
      bodyLimit: 1_048_576,
      jsonMaxDepth: 32,
    });
    expect(config.http.corsOrigins).toEqual([]);
    expect(config.database).toEqual({
      type: 'sqlite',
      path: '/srv/switchboard/data/switchboard.sqlite',
    });
    expect(config.redis).toEqual({
      url: undefined,
      clusterNodes: undefined,
      keyPrefix: 'switchboard:',
    });
    expect(config.auth).toEqual({
      jwtSecret: undefined,
      accessTokenTtl: '15m',
      refreshTokenTtl: '30d',
    });
    expect(config.cache.ttlMs).toBe(30_000);
    expect(config.throttle).toMatchObject({ limit: 600, ttlMs: 60_000 });
    expect(config.websocket).toEqual({
      maxPayload: 65_536,
      maxBuffered: 1_048_576,
      maxConnections: 100_000,
      messageRate: 20,
      connectLimit: 60,
      heartbeatMs: 30_000,
      accept: { ratePerSecond: 1000, burst: 500, concurrency: 256 },
    });
    expect(config.http.listenBacklog).toBe(511);
    expect(config.http.acceptsPerTurn).toBe(8);
  });

  it('selects PostgreSQL for a postgres:// DATABASE_URL', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://app@db:5432/switchboard' });

    expect(config.database).toEqual({
      type: 'postgres',
      url: 'postgres://app@db:5432/switchboard',
      poolSize: 10,
    });
  });

  it.each([
    ['false', false],
    ['true', true],
    ['10.0.0.5', ['10.0.0.5']],
    ['127.0.0.1, 10.0.0.0/8', ['127.0.0.1', '10.0.0.0/8']],
  ])('reads TRUST_PROXY=%s', (value, expected) => {
    expect(loadConfig({ TRUST_PROXY: value }).http.trustProxy).toEqual(expected);
  });

  it('splits CORS_ORIGINS on commas', () => {
    const config = loadConfig({ CORS_ORIGINS: 'https://a.example, https://b.example,' });

    expect(config.http.corsOrigins).toEqual(['https://a.example', 'https://b.example']);
  });

  it.each([
    ['PORT', 'notaport', 'PORT must be a number'],
    ['PORT', '70000', 'PORT must be at most 65535'],
    ['DATABASE_URL', 'mysql://db/x', 'DATABASE_URL must be a URL starting with postgres:'],
    ['REDIS_URL', 'localhost:6379', 'REDIS_URL must be a URL starting with redis:'],
    ['REDIS_CLUSTER_NODES', 'redis-a', 'REDIS_CLUSTER_NODES must be comma-separated host:port'],
    ['REDIS_CLUSTER_NODES', 'a:7000,http://b:7000', 'REDIS_CLUSTER_NODES must be comma-separated'],
    ['REDIS_CLUSTER_NODES', ' , ', 'REDIS_CLUSTER_NODES must name at least one node'],
    ['JWT_TTL', 'forever', 'JWT_TTL must be a duration'],
    ['JWT_SECRET', 'short', 'JWT_SECRET must be at least 32 characters'],
    ['TRUST_PROXY', 'yes', 'TRUST_PROXY must be true, false, or comma-separated proxy addresses'],
    ['THROTTLE_LIMIT', '0', 'THROTTLE_LIMIT must be at least 1'],
    ['JWT_TTL', '0', 'JWT_TTL must be at least 1s'],
    ['JWT_TTL', '500ms', 'JWT_TTL must be at least 1s'],
    ['REFRESH_TTL', '999ms', 'REFRESH_TTL must be at least 1s'],
    ['THROTTLE_TTL_MS', '999', 'THROTTLE_TTL_MS must be at least 1000'],
    ['JSON_MAX_DEPTH', '0', 'JSON_MAX_DEPTH must be at least 1'],
  ])('refuses %s=%s in one line naming it', (name, value, expected) => {
    const load = () => loadConfig({ [name]: value });

    expect(load).toThrow(ConfigValidationError);
    expect(load).toThrow(expected);
    expect(() => load()).toThrow(/^Invalid configuration: [^\n]+$/);
  });

  it('reads a Redis Cluster from its seed nodes, in any of the accepted forms', () => {
    const config = loadConfig({
      REDIS_CLUSTER_NODES: '10.0.0.1:7000, redis-b:7001,redis://:secret@[::1]:7002',
    });

    expect(config.redis.clusterNodes).toEqual([
      '10.0.0.1:7000',
      'redis-b:7001',
      'redis://:secret@[::1]:7002',
    ]);
    expect(config.redis.url).toBeUndefined();
  });

  it('refuses one Redis and a cluster at once, and braces in the prefix of a cluster', () => {
    expect(() =>
      loadConfig({ REDIS_URL: 'redis://a:6379', REDIS_CLUSTER_NODES: 'b:7000' }),
    ).toThrow('REDIS_CLUSTER_NODES cannot be set together with REDIS_URL');
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: 'b:7000', REDIS_KEY_PREFIX: '{app}:' })).toThrow(
      'REDIS_KEY_PREFIX must not contain { or }',
    );
    // A positive control: the same prefix is fine on one Redis.
    expect(
      loadConfig({ REDIS_URL: 'redis://a:6379', REDIS_KEY_PREFIX: '{app}:' }).redis.keyPrefix,
    ).toBe('{app}:');
  });

  it('accepts the shortest durations allowed', () => {
    expect(loadConfig({ JWT_TTL: '1s', REFRESH_TTL: '1000ms' }).auth).toMatchObject({
      accessTokenTtl: '1s',
      refreshTokenTtl: '1000ms',
    });
  });

  it('drains for 5 s of a 10 s shutdown by default, and refuses a delay that leaves no time', () => {
    expect(loadConfig({}).http).toMatchObject({
      shutdownTimeoutMs: 10_000,
      shutdownDrainDelayMs: 5_000,
    });
    expect(loadConfig({ SHUTDOWN_DRAIN_DELAY_MS: '0' }).http.shutdownDrainDelayMs).toBe(0);
    expect(() =>
      loadConfig({ SHUTDOWN_TIMEOUT_MS: '3000', SHUTDOWN_DRAIN_DELAY_MS: '3000' }),
    ).toThrow(
      /^Invalid configuration: SHUTDOWN_DRAIN_DELAY_MS must be less than SHUTDOWN_TIMEOUT_MS/,
    );
  });

  it('names every bad variable at once', () => {
    expect(() => loadConfig({ PORT: 'x', JWT_TTL: 'y' })).toThrow(/PORT .*; JWT_TTL /);
  });

  it('requires JWT_SECRET in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(
      'JWT_SECRET is required when NODE_ENV=production',
    );
    expect(
      loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) }).auth.jwtSecret,
    ).toHaveLength(32);
  });
});

describe('.env.example', () => {
  const example = readFileSync(join(__dirname, '..', '.env.example'), 'utf8');
  const documented = [...example.matchAll(/^([A-Z_]+)=/gm)].map((match) => match[1]);
  const schemaKeys = Object.keys(environmentSchema.shape);

  it('lists every variable the schema reads, and no other', () => {
    expect([...documented].sort()).toEqual([...schemaKeys].sort());
  });

  it('shows each default, so that loading it changes nothing', () => {
    const values = Object.fromEntries(
      [...example.matchAll(/^([A-Z_]+)=(.*)$/gm)].map((match) => [match[1], match[2]]),
    );

    expect(loadConfig(values, '/srv')).toEqual(loadConfig({}, '/srv'));
  });
});
