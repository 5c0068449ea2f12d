import {
  CanActivate,
  ExceptionFilter,
  ForbiddenException,
  Inject,
  Injectable,
  OnModuleInit,
  Type,
} from '@nestjs/common';
import { EXCEPTION_FILTERS_METADATA, GUARDS_METADATA } from '@nestjs/common/constants';
import {
  ApplicationConfig,
  HttpAdapterHost,
  MetadataScanner,
  ModulesContainer,
} from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isObservable, lastValueFrom } from 'rxjs';
import { cacheTargetOf, cachingOn, routeTemplateOf } from './cache-entry';
import { buildCacheKey } from './cache-key';
import type { CacheableRequest, CachedRoute } from './cache-response.decorator';
import {
  CACHE_OPTIONS,
  CACHE_RESPONSE_METADATA,
  CACHE_STATUS_HEADER,
  CACHED_ROUTE_CONFIG,
} from './cache.constants';
import { CacheOptions } from './cache-options';
import { CacheService } from './cache.service';
import { CachedRouteQueries } from './cached-route-query';
import { HttpExecutionContext } from './http-execution-context';
import { JSON_CONTENT_TYPE } from './http-cache.interceptor';

/** What the application runs on every request before a cached answer may be sent. */
export interface EarlyCacheHitsOptions {
  /**
   * The global exception filter (`APP_FILTER`): a refusal is answered exactly as Nest would. The
   * start fails unless it is Nest's one global filter.
   */
  exceptionFilter: Type<ExceptionFilter>;
}

export const EARLY_CACHE_HITS_OPTIONS = Symbol('EARLY_CACHE_HITS_OPTIONS');

/**
 * Answers in-process cache hits of `@CacheResponse()` routes from a Fastify `onRequest` hook,
 * before Nest's router, pipes and interceptors: on a hit they would only add cost (a bare Nest
 * route runs at about half the speed of a bare Fastify one). Everything that decides whether the
 * caller may have the answer still runs, and is the same code: the guards Nest runs for the route
 * — the global ones from Nest's own registry (`APP_GUARD` and `useGlobalGuards()` alike), then
 * the route's `@UseGuards()` as its module holds them — in Nest's order, on the same request and
 * reply, with refusals answered by the global exception filter. A miss carries on into Nest's
 * route as if this hook were not there (the guards run again there; they are cheap on a second
 * call).
 *
 * At start-up each cached route's guards are resolved once, and the start fails when they could
 * differ from Nest's: a request-scoped guard (global or the route's), a request-scoped
 * controller, or a guard class its module does not hold.
 */
@Injectable()
export class EarlyCacheHits implements OnModuleInit {
  private readonly guardsByHandler = new Map<CachedRoute['handler'], CanActivate[]>();
  private filter!: ExceptionFilter;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly applicationConfig: ApplicationConfig,
    private readonly modules: ModulesContainer,
    private readonly cache: CacheService,
    private readonly queries: CachedRouteQueries,
    @Inject(CACHE_OPTIONS)
    private readonly options: Pick<CacheOptions, 'defaultTtlMs' | 'callerOf'>,
    @Inject(EARLY_CACHE_HITS_OPTIONS) private readonly hitsOptions: EarlyCacheHitsOptions,
  ) {}

  onModuleInit(): void {
    // Nest has applied the global enhancers and registered the routes by now (before init hooks).
    this.filter = this.resolveFilter();
    this.resolveGuards();
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
    const guards = this.guardsByHandler.get(route.handler);
    if (!guards) {
      // Not seen at start-up: Nest's route answers it.
      return false;
    }
    const context = new HttpExecutionContext([request, reply], route.controller, route.handler);
    try {
      for (const guard of guards) {
        if (!(await allows(guard, context))) {
          // What Nest's guard consumer throws for a guard that says no.
          throw new ForbiddenException('Forbidden resource');
        }
      }
    } catch (error) {
      this.filter.catch(error, context);
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

  /**
   * Every cached route's guards, as Nest's router resolves them (`GuardsContextCreator`): the
   * global guards, then the controller's, then the handler's; a guard class is the instance the
   * controller's module holds. Throws where Nest would run anything else.
   */
  private resolveGuards(): void {
    if (this.applicationConfig.getGlobalRequestGuards().length > 0) {
      throw new Error(
        'EarlyCacheHits cannot run a request-scoped global guard before a cached answer: make it static, or turn early hits off',
      );
    }
    const globalGuards = this.applicationConfig.getGlobalGuards();
    const scanner = new MetadataScanner();
    for (const module of this.modules.values()) {
      for (const controller of module.controllers.values()) {
        const type = controller.metatype as Type | null;
        if (!type) {
          continue;
        }
        const prototype = type.prototype as Record<string, CachedRoute['handler']>;
        for (const name of scanner.getAllMethodNames(prototype)) {
          const handler = prototype[name];
          if (!Reflect.getMetadata(CACHE_RESPONSE_METADATA, handler)) {
            continue;
          }
          const where = `${type.name}.${name}`;
          if (
            Reflect.getMetadata(EXCEPTION_FILTERS_METADATA, type) ??
            Reflect.getMetadata(EXCEPTION_FILTERS_METADATA, handler)
          ) {
            throw new Error(
              `EarlyCacheHits: ${where} is cached but has exception filters of its own, which a refusal answered early would skip`,
            );
          }
          if (!controller.isDependencyTreeStatic()) {
            throw new Error(
              `EarlyCacheHits: ${where} is cached but its controller is request-scoped; Nest would run its guards per request`,
            );
          }
          const routeGuards = [...guardMetadata(type), ...guardMetadata(handler)].map((guard) => {
            if (typeof guard !== 'function') {
              return guard;
            }
            const wrapper = module.injectables.get(guard);
            const instance = wrapper?.instance as CanActivate | undefined;
            if (!wrapper?.isDependencyTreeStatic() || typeof instance?.canActivate !== 'function') {
              throw new Error(
                `EarlyCacheHits: guard ${guard.name} of ${where} is not a static instance of its module; Nest would run another one`,
              );
            }
            return instance;
          });
          this.guardsByHandler.set(handler, [...globalGuards, ...routeGuards]);
        }
      }
    }
  }

  /**
   * The filter Nest answers a cached route's refusals with: the one global filter, which must be
   * the configured one (checked here, so the two cannot drift apart).
   */
  private resolveFilter(): ExceptionFilter {
    const filters = this.applicationConfig.getGlobalFilters();
    const [filter] = filters;
    if (
      filters.length !== 1 ||
      !(filter instanceof this.hitsOptions.exceptionFilter) ||
      this.applicationConfig.getGlobalRequestFilters().length > 0
    ) {
      throw new Error(
        `EarlyCacheHits: Nest's global exception filters are not exactly ${this.hitsOptions.exceptionFilter.name}; a refusal answered early could differ from Nest's`,
      );
    }
    return filter;
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

async function allows(guard: CanActivate, context: HttpExecutionContext): Promise<boolean> {
  const result = guard.canActivate(context);
  return isObservable(result) ? lastValueFrom(result) : result;
}
