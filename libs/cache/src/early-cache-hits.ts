import {
  CanActivate,
  ExceptionFilter,
  ForbiddenException,
  Inject,
  Injectable,
  OnModuleInit,
  Type,
} from '@nestjs/common';
import { GUARDS_METADATA } from '@nestjs/common/constants';
import { HttpAdapterHost, ModuleRef } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isObservable, lastValueFrom } from 'rxjs';
import { cacheTargetOf, cachingOn, routeTemplateOf } from './cache-entry';
import { buildCacheKey } from './cache-key';
import type { CacheableRequest, CachedRoute } from './cache-response.decorator';
import { CACHE_OPTIONS, CACHE_STATUS_HEADER, CACHED_ROUTE_CONFIG } from './cache.constants';
import { CacheOptions } from './cache-options';
import { CacheService } from './cache.service';
import { CachedRouteQueries } from './cached-route-query';
import { JSON_CONTENT_TYPE } from './http-cache.interceptor';

/** What the application runs on every request before a cached answer may be sent. */
export interface EarlyCacheHitsOptions {
  /** The global guards, in the order the application registers them (`APP_GUARD`). */
  globalGuards: Type<CanActivate>[];
  /** The global exception filter (`APP_FILTER`): a refusal is answered exactly as Nest would. */
  exceptionFilter: Type<ExceptionFilter>;
}

export const EARLY_CACHE_HITS_OPTIONS = Symbol('EARLY_CACHE_HITS_OPTIONS');

/**
 * Answers in-process cache hits of `@CacheResponse()` routes from a Fastify `onRequest` hook,
 * before Nest's router, pipes and interceptors: on a hit they would only add cost (a bare Nest
 * route runs at about half the speed of a bare Fastify one). Everything that decides whether the
 * caller may have the answer still runs, and is the same code: the global guards and the route's
 * own `@UseGuards()`, in Nest's order, on the same request and reply, with refusals answered by
 * the global exception filter. A miss carries on into Nest's route as if this hook were not
 * there (the guards run again there; they are cheap on a second call).
 */
@Injectable()
export class EarlyCacheHits implements OnModuleInit {
  private readonly guardsByRoute = new Map<CachedRoute, CanActivate[]>();
  private filter: ExceptionFilter | undefined;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly moduleRef: ModuleRef,
    private readonly cache: CacheService,
    private readonly queries: CachedRouteQueries,
    @Inject(CACHE_OPTIONS)
    private readonly options: Pick<CacheOptions, 'defaultTtlMs' | 'callerOf'>,
    @Inject(EARLY_CACHE_HITS_OPTIONS) private readonly hitsOptions: EarlyCacheHitsOptions,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    // Callback style: the requests of other routes go on without a promise of their own.
    fastify.addHook('onRequest', (request, reply, done) => {
      const route = cachedRouteOf(request);
      if (!route || request.method !== 'GET' || !cachingOn(route.options, this.options)) {
        done();
        return;
      }
      this.answerHit(route, request, reply).then((answered) => {
        if (!answered) {
          done();
        }
      }, done);
    });
  }

  /** Sends the cached answer, or a guard's refusal: true. False: the route takes it from here. */
  private async answerHit(
    route: CachedRoute,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<boolean> {
    // What Nest hands its guards and filters for this route: (request, reply) of the handler.
    const context = new ExecutionContextHost([request, reply], route.controller, route.handler);
    try {
      for (const guard of this.guardsOf(route)) {
        if (!(await allows(guard, context))) {
          // What Nest's guard consumer throws for a guard that says no.
          throw new ForbiddenException('Forbidden resource');
        }
      }
    } catch (error) {
      this.exceptionFilter().catch(error, context);
      return true;
    }
    const target = cacheTargetOf(
      route.options,
      request as unknown as CacheableRequest,
      this.options,
    );
    if (!target) {
      return false;
    }
    let query: Record<string, unknown>;
    try {
      query = await this.queries.validated(route.controller, route.handler, request.query);
    } catch {
      // A query the route refuses: the route answers it (400), as it would without this hook.
      return false;
    }
    const key = buildCacheKey(
      routeTemplateOf(request, request.url),
      request.params as Record<string, unknown>,
      query,
      target.caller,
    );
    const body = this.cache.peek<string>(key);
    if (body === undefined) {
      return false;
    }
    void reply.header(CACHE_STATUS_HEADER, 'HIT').type(JSON_CONTENT_TYPE).send(body);
    return true;
  }

  private guardsOf(route: CachedRoute): CanActivate[] {
    let guards = this.guardsByRoute.get(route);
    if (!guards) {
      const routeGuards = [...guardMetadata(route.controller), ...guardMetadata(route.handler)];
      guards = [...this.hitsOptions.globalGuards, ...routeGuards].map((guard) =>
        typeof guard === 'function'
          ? this.moduleRef.get<CanActivate>(guard, { strict: false })
          : guard,
      );
      this.guardsByRoute.set(route, guards);
    }
    return guards;
  }

  private exceptionFilter(): ExceptionFilter {
    this.filter ??= this.moduleRef.get<ExceptionFilter>(this.hitsOptions.exceptionFilter, {
      strict: false,
    });
    return this.filter;
  }
}

function cachedRouteOf(request: FastifyRequest): CachedRoute | undefined {
  const config = request.routeOptions.config as unknown as Record<string, unknown> | undefined;
  return config?.[CACHED_ROUTE_CONFIG] as CachedRoute | undefined;
}

function guardMetadata(target: object): (Type<CanActivate> | CanActivate)[] {
  return (
    (Reflect.getMetadata(GUARDS_METADATA, target) as (Type<CanActivate> | CanActivate)[]) ?? []
  );
}

async function allows(guard: CanActivate, context: ExecutionContextHost): Promise<boolean> {
  const result = guard.canActivate(context);
  return isObservable(result) ? lastValueFrom(result) : result;
}
