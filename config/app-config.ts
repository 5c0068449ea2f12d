import { isAbsolute, join, resolve } from 'node:path';
import { Environment, environmentSchema } from './environment.schema';

/** The typed configuration every module receives. Built once from the environment. */
export interface AppConfig {
  environment: Environment['NODE_ENV'];
  http: {
    port: number;
    /**
     * A second port for /health, /health/ready and /metrics only, with a listen queue of its
     * own: probes are not queued behind a storm of connections on the main port. Unset: none.
     */
    healthPort: number | undefined;
    host: string;
    bodyLimit: number;
    /** Deepest nesting of objects and arrays in a JSON body or WebSocket frame. */
    jsonMaxDepth: number;
    corsOrigins: string[];
    /** Read client addresses from X-Forwarded-For: from any proxy (true) or from these only. */
    trustProxy: boolean | string[];
    /** Connections the kernel queues for accept(): a reconnect storm arrives all at once. */
    listenBacklog: number;
    /** Connections one event-loop turn may accept (one per descriptor of the listening socket). */
    acceptsPerTurn: number;
    shutdownTimeoutMs: number;
    /**
     * After SIGTERM, how long the server keeps accepting and serving while readiness answers 503,
     * so that a balancer that probes readiness stops sending before the port closes.
     */
    shutdownDrainDelayMs: number;
    /** Serve Swagger UI at /docs and the document at /openapi.json. */
    docs: boolean;
  };
  dataDirectory: string;
  database: { type: 'sqlite'; path: string } | { type: 'postgres'; url: string; poolSize: number };
  /**
   * One Redis (`url`), a Redis Cluster (`clusterNodes`, where the client learns the rest), or
   * neither: everything runs in-process. `keyPrefix` starts every key and channel name.
   */
  redis: { url: string | undefined; clusterNodes: string[] | undefined; keyPrefix: string };
  auth: {
    /** Undefined outside production when unset: the auth module then keeps one in `dataDirectory`. */
    jwtSecret: string | undefined;
    accessTokenTtl: string;
    refreshTokenTtl: string;
  };
  cache: { ttlMs: number };
  throttle: {
    limit: number;
    ttlMs: number;
    authLimit: number;
    authTtlMs: number;
  };
  websocket: {
    maxPayload: number;
    maxBuffered: number;
    /** Open connections this instance accepts; past it, upgrades get 503. */
    maxConnections: number;
    /** Upgrades one client address may attempt per THROTTLE_TTL_MS (fleet-wide with Redis). */
    connectLimit: number;
    /** Frames per second one connection may send (bursts of twice that). */
    messageRate: number;
    /** Interval of the server's pings; a peer that misses one is dropped. */
    heartbeatMs: number;
    /**
     * Admission of upgrades on this instance, whoever sends them: a token bucket (`ratePerSecond`,
     * `burst`) and a bound on upgrades being verified at once. Past either: 503 with Retry-After.
     */
    accept: { ratePerSecond: number; burst: number; concurrency: number };
  };
  /**
   * An instance whose presence heartbeat (once a second) stopped for this long is taken for dead:
   * a survivor announces its users offline. Long enough that a busy instance's pauses (GC, a large
   * fan-out, a starved core) never pass for a death, which would announce everyone again.
   */
  presence: { instanceTtlMs: number };
  /** Load shedding thresholds (0 = that check is off): past one, new work gets 503. */
  shedding: { maxEventLoopDelayMs: number; maxHeapUsedBytes: number; maxRssBytes: number };
  /** Workers of `npm run start:cluster`; undefined means one per core. */
  clusterWorkers: number | undefined;
  /**
   * The operator console: the usernames allowed in (none: the console is off), and how often each
   * instance reports its figures to the fleet.
   */
  console: { operators: string[]; reportIntervalMs: number };
  /** When set, GET /metrics needs `Authorization: Bearer <token>`. */
  metricsToken: string | undefined;
  logLevel: Environment['LOG_LEVEL'];
}

/** Whether the fleet shares Redis (one server or a cluster): otherwise all runs in-process. */
export function usesRedis(config: Pick<AppConfig, 'redis'>): boolean {
  return config.redis.url !== undefined || config.redis.clusterNodes !== undefined;
}

export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration: ${problems.join('; ')}`);
    this.name = ConfigValidationError.name;
  }
}

/**
 * Validates the environment and builds the configuration. Throws a ConfigValidationError whose
 * message is one line naming every bad variable.
 */
export function loadConfig(
  variables: Record<string, string | undefined>,
  workingDirectory = process.cwd(),
): AppConfig {
  const parsed = environmentSchema.safeParse(variables);
  if (!parsed.success) {
    throw new ConfigValidationError(
      parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`),
    );
  }
  const environment = parsed.data;
  const dataDirectory = isAbsolute(environment.DATA_DIR)
    ? environment.DATA_DIR
    : resolve(workingDirectory, environment.DATA_DIR);

  return {
    environment: environment.NODE_ENV,
    http: {
      port: environment.PORT,
      healthPort: environment.HEALTH_PORT,
      host: environment.HOST,
      bodyLimit: environment.BODY_LIMIT,
      jsonMaxDepth: environment.JSON_MAX_DEPTH,
      corsOrigins: environment.CORS_ORIGINS,
      trustProxy: environment.TRUST_PROXY,
      listenBacklog: environment.LISTEN_BACKLOG,
      acceptsPerTurn: environment.ACCEPTS_PER_TURN,
      shutdownTimeoutMs: environment.SHUTDOWN_TIMEOUT_MS,
      shutdownDrainDelayMs: environment.SHUTDOWN_DRAIN_DELAY_MS,
      docs: environment.DOCS ?? environment.NODE_ENV !== 'production',
    },
    dataDirectory,
    database: environment.DATABASE_URL
      ? {
          type: 'postgres',
          url: environment.DATABASE_URL,
          poolSize: environment.DATABASE_POOL_SIZE,
        }
      : { type: 'sqlite', path: join(dataDirectory, 'switchboard.sqlite') },
    redis: {
      url: environment.REDIS_URL,
      clusterNodes: environment.REDIS_CLUSTER_NODES,
      keyPrefix: environment.REDIS_KEY_PREFIX,
    },
    auth: {
      jwtSecret: environment.JWT_SECRET,
      accessTokenTtl: environment.JWT_TTL,
      refreshTokenTtl: environment.REFRESH_TTL,
    },
    cache: { ttlMs: environment.CACHE_TTL_MS },
    throttle: {
      limit: environment.THROTTLE_LIMIT,
      ttlMs: environment.THROTTLE_TTL_MS,
      authLimit: environment.AUTH_THROTTLE_LIMIT,
      authTtlMs: environment.AUTH_THROTTLE_TTL_MS,
    },
    websocket: {
      maxPayload: environment.WS_MAX_PAYLOAD,
      maxBuffered: environment.WS_MAX_BUFFERED,
      maxConnections: environment.WS_MAX_CONNECTIONS,
      messageRate: environment.WS_MESSAGE_RATE,
      connectLimit: environment.WS_CONNECT_LIMIT,
      heartbeatMs: environment.WS_HEARTBEAT_MS,
      accept: {
        ratePerSecond: environment.WS_ACCEPT_RATE,
        burst: environment.WS_ACCEPT_BURST,
        concurrency: environment.WS_ACCEPT_CONCURRENCY,
      },
    },
    presence: { instanceTtlMs: environment.PRESENCE_INSTANCE_TTL_MS },
    console: {
      operators: environment.CONSOLE_USERS,
      reportIntervalMs: environment.CONSOLE_REPORT_INTERVAL_MS,
    },
    metricsToken: environment.METRICS_TOKEN,
    clusterWorkers: environment.CLUSTER_WORKERS,
    shedding: {
      maxEventLoopDelayMs: environment.SHED_MAX_EVENT_LOOP_DELAY_MS,
      maxHeapUsedBytes: environment.SHED_MAX_HEAP_USED_BYTES,
      maxRssBytes: environment.SHED_MAX_RSS_BYTES,
    },
    logLevel: environment.LOG_LEVEL,
  };
}
