import { ModuleMetadata, PipeTransform, Type, ValidationPipe } from '@nestjs/common';
import { CacheInvalidationChannel } from './cache-invalidation.channel';
import type { EarlyCacheHitsOptions } from './early-cache-hits';

/** Who is asking, for routes whose answer depends on the caller; undefined when nobody is. */
export type CallerResolver = (request: unknown) => string | undefined;

/**
 * The JSON text of a handler's answer, as the client would receive it from the route (a
 * platform's compiled response serializer, say). The response object is the platform's reply.
 */
export type AnswerSerializer = (answer: unknown, response: unknown) => string;

/**
 * What `CacheModule.forRoot()` accepts: the application maps its configuration to this. Redis
 * comes from `RedisModule`: the shared tier is on when the application has a Redis connection.
 */
export interface CacheModuleOptions {
  /** The lifetime of a cached response unless its route says otherwise. */
  defaultTtlMs: number;
  /** Modules the invalidation channel needs (the bus module, once it exists). */
  imports?: ModuleMetadata['imports'];
  /** Carries invalidations to the other instances. Default: in-process only. */
  invalidationChannel?: Type<CacheInvalidationChannel>;
  /** Default: `request.user.id`, as the access-token guard sets it. */
  callerOf?: CallerResolver;
  /**
   * Validates a cached route's query before the cache is asked, so that keys come from validated
   * values only: pass the app's own validation pipe. Default: Nest's, refusing unknown names.
   */
  queryPipe?: PipeTransform;
  /** Default: `JSON.stringify`. */
  serializeAnswer?: AnswerSerializer;
  memory?: Partial<CacheOptions['memory']>;
  /** On Fastify: answer in-process hits before Nest's routing (see `EarlyCacheHits`). */
  earlyHits?: EarlyCacheHitsOptions;
}

export interface CacheOptions {
  /** `CACHE_TTL_MS`: the lifetime of a cached response unless its route says otherwise. */
  defaultTtlMs: number;
  callerOf: CallerResolver;
  queryPipe: PipeTransform;
  serializeAnswer: AnswerSerializer;
  memory: {
    /** The in-process tier holds at most this many entries (least recently used go first). */
    maxEntries: number;
    /** …and at most this much body text in total (characters). */
    maxSize: number;
    /**
     * With Redis, the in-process tier keeps an entry at most this long, which bounds how stale
     * it can be if a cross-instance invalidation is lost. Without Redis it is the only tier and
     * keeps entries for their full TTL.
     */
    frontTtlMs: number;
  };
}

export const DEFAULT_MEMORY_OPTIONS: CacheOptions['memory'] = {
  maxEntries: 10_000,
  maxSize: 64 * 1024 * 1024,
  frontTtlMs: 5_000,
};

/** The caller as the access-token guard leaves it on the request. */
export const callerFromRequestUser: CallerResolver = (request) => {
  const user = (request as { user?: { id?: unknown } } | undefined)?.user;
  return typeof user?.id === 'string' ? user.id : undefined;
};

export function resolveCacheOptions(options: CacheModuleOptions): CacheOptions {
  return {
    defaultTtlMs: options.defaultTtlMs,
    callerOf: options.callerOf ?? callerFromRequestUser,
    queryPipe:
      options.queryPipe ??
      new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }),
    serializeAnswer: options.serializeAnswer ?? ((answer) => JSON.stringify(answer)),
    memory: { ...DEFAULT_MEMORY_OPTIONS, ...options.memory },
  };
}
