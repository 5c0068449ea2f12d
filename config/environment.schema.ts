import { z } from 'zod';
import { DURATION_PATTERN, durationToMs } from './duration';

const integer = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int({ error: 'must be a whole number' })
    .min(min, { error: `must be at least ${min}` })
    .max(max, { error: `must be at most ${max}` });

const positiveNumber = () =>
  z.coerce
    .number({ error: 'must be a number' })
    .positive({ error: 'must be more than 0' })
    .refine(Number.isFinite, { error: 'must be a finite number' });

/** The shortest lifetime a token may have: below it, tokens are born expired or nearly. */
export const MIN_DURATION_MS = 1000;

const duration = z
  .string()
  .regex(DURATION_PATTERN, { error: 'must be a duration such as 30s, 15m, 12h or 7d' })
  .refine((value) => durationToMs(value) >= MIN_DURATION_MS, {
    error: 'must be at least 1s',
    // The pattern's issue is enough for a value that is not a duration at all.
    when: (payload) => typeof payload.value === 'string' && DURATION_PATTERN.test(payload.value),
  });

const commaSeparatedList = z.string().transform((value) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0),
);

const urlWithProtocol = (protocols: string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { error: `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}` },
  );

const emptyAsUndefined = (value: unknown) => (value === '' ? undefined : value);

/** `host:port`, or a redis:// (rediss://) URL with a port: one node of a Redis Cluster. */
const REDIS_NODE_PATTERN =
  /^(?:rediss?:\/\/(?:[^@/]*@)?)?(?:\[[0-9a-fA-F:.]+\]|[^:/@\s[\]]+):\d{1,5}\/?$/;

const redisClusterNodes = commaSeparatedList.pipe(
  z
    .array(z.string())
    .min(1, { error: 'must name at least one node (host:port)' })
    .superRefine((nodes, context) => {
      const bad = nodes.findIndex((node) => !REDIS_NODE_PATTERN.test(node));
      if (bad >= 0) {
        // By position, not by value: an entry may carry a password.
        context.addIssue({
          code: 'custom',
          message: `must be comma-separated host:port entries (or redis://host:port URLs); entry ${bad + 1} is not one`,
        });
      }
    }),
);

/**
 * Every environment variable Switchboard reads, with its default. `.env.example` documents the
 * same list; a test keeps the two in step.
 */
export const environmentSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    PORT: integer(0, 65535).default(3000),
    HEALTH_PORT: z.preprocess(emptyAsUndefined, integer(1, 65535).optional()),
    HOST: z.string().min(1, { error: 'must not be empty' }).default('0.0.0.0'),
    DATA_DIR: z.string().min(1, { error: 'must not be empty' }).default('data'),
    DATABASE_URL: z.preprocess(
      emptyAsUndefined,
      urlWithProtocol(['postgres:', 'postgresql:']).optional(),
    ),
    DATABASE_POOL_SIZE: integer(1, 1000).default(10),
    REDIS_URL: z.preprocess(emptyAsUndefined, urlWithProtocol(['redis:', 'rediss:']).optional()),
    REDIS_CLUSTER_NODES: z.preprocess(emptyAsUndefined, redisClusterNodes.optional()),
    REDIS_KEY_PREFIX: z.string().default('switchboard:'),
    JWT_SECRET: z.preprocess(
      emptyAsUndefined,
      z.string().min(32, { error: 'must be at least 32 characters' }).optional(),
    ),
    JWT_TTL: duration.default('15m'),
    REFRESH_TTL: duration.default('30d'),
    CACHE_TTL_MS: integer(0).default(30_000),
    THROTTLE_LIMIT: integer(1).default(600),
    THROTTLE_TTL_MS: integer(MIN_DURATION_MS).default(60_000),
    AUTH_THROTTLE_LIMIT: integer(1).default(10),
    AUTH_THROTTLE_TTL_MS: integer(MIN_DURATION_MS).default(60_000),
    BODY_LIMIT: integer(1024).default(1_048_576),
    JSON_MAX_DEPTH: integer(1, 1000).default(32),
    WS_MAX_PAYLOAD: integer(128).default(65_536),
    WS_MAX_BUFFERED: integer(1024).default(1_048_576),
    WS_MAX_CONNECTIONS: integer(1).default(100_000),
    WS_MESSAGE_RATE: integer(1).default(20),
    WS_CONNECT_LIMIT: integer(1).default(60),
    WS_HEARTBEAT_MS: integer(100).default(30_000),
    WS_ACCEPT_RATE: positiveNumber().default(1000),
    WS_ACCEPT_BURST: integer(1).default(500),
    WS_ACCEPT_CONCURRENCY: integer(1).default(256),
    LISTEN_BACKLOG: integer(1, 65535).default(511),
    ACCEPTS_PER_TURN: integer(1, 64).default(8),
    PRESENCE_INSTANCE_TTL_MS: integer(2_000).default(15_000),
    CORS_ORIGINS: commaSeparatedList.default([]),
    // false | true | the proxies' addresses or CIDR ranges, comma-separated.
    TRUST_PROXY: z
      .string()
      .default('false')
      .refine((value) => /^(true|false|[0-9a-fA-F.:/]+(\s*,\s*[0-9a-fA-F.:/]+)*)$/.test(value), {
        error: 'must be true, false, or comma-separated proxy addresses',
      })
      .transform((value): boolean | string[] =>
        value === 'true' || value === 'false'
          ? value === 'true'
          : value.split(',').map((address) => address.trim()),
      ),
    DOCS: z.preprocess(
      emptyAsUndefined,
      z
        .enum(['true', 'false'], { error: 'must be true or false' })
        .optional()
        .transform((value) => (value === undefined ? undefined : value === 'true')),
    ),
    CONSOLE_USERS: commaSeparatedList.default([]),
    CONSOLE_REPORT_INTERVAL_MS: integer(250, 60_000).default(2_000),
    METRICS_TOKEN: z.preprocess(
      emptyAsUndefined,
      z.string().min(16, { error: 'must be at least 16 characters' }).optional(),
    ),
    SHED_MAX_EVENT_LOOP_DELAY_MS: integer(0).default(1000),
    SHED_MAX_HEAP_USED_BYTES: integer(0).default(0),
    SHED_MAX_RSS_BYTES: integer(0).default(0),
    CLUSTER_WORKERS: z.preprocess(emptyAsUndefined, integer(1, 256).optional()),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),
    SHUTDOWN_TIMEOUT_MS: integer(0).default(10_000),
    SHUTDOWN_DRAIN_DELAY_MS: integer(0).default(5_000),
  })
  .superRefine((environment, context) => {
    if (environment.SHUTDOWN_DRAIN_DELAY_MS >= environment.SHUTDOWN_TIMEOUT_MS) {
      context.addIssue({
        code: 'custom',
        path: ['SHUTDOWN_DRAIN_DELAY_MS'],
        message: 'must be less than SHUTDOWN_TIMEOUT_MS (the drain needs time after the delay)',
      });
    }
    if (environment.REDIS_URL && environment.REDIS_CLUSTER_NODES) {
      context.addIssue({
        code: 'custom',
        path: ['REDIS_CLUSTER_NODES'],
        message: 'cannot be set together with REDIS_URL (one Redis, or one Redis Cluster)',
      });
    }
    if (environment.REDIS_CLUSTER_NODES && /[{}]/.test(environment.REDIS_KEY_PREFIX)) {
      context.addIssue({
        code: 'custom',
        path: ['REDIS_KEY_PREFIX'],
        message:
          'must not contain { or } with REDIS_CLUSTER_NODES (the hash tags that keep related keys in one slot must be the first braces of a key)',
      });
    }
    if (environment.NODE_ENV === 'production' && !environment.JWT_SECRET) {
      context.addIssue({
        code: 'custom',
        path: ['JWT_SECRET'],
        message: 'is required when NODE_ENV=production',
      });
    }
  });

export type Environment = z.output<typeof environmentSchema>;
