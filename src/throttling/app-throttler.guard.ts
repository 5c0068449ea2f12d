import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerException,
  ThrottlerGuard,
  ThrottlerLimitDetail,
  ThrottlerModuleOptions,
  ThrottlerOptions,
  ThrottlerStorage,
} from '@nestjs/throttler';
import {
  THROTTLER_BLOCK_DURATION,
  THROTTLER_KEY_GENERATOR,
  THROTTLER_LIMIT,
  THROTTLER_SKIP,
  THROTTLER_TRACKER,
  THROTTLER_TTL,
} from '@nestjs/throttler/dist/throttler.constants';
import { Counter } from 'prom-client';
import { MetricsService } from '@app/metrics/metrics.service';

const COUNTED = Symbol('rateLimitCounted');

type Resolvable = number | ((context: ExecutionContext) => number | Promise<number>);

/** One throttler as it applies to one route: its decorators read once, not on every request. */
interface RouteLimit {
  throttler: ThrottlerOptions & { name: string };
  /** `@SkipThrottle()` on the route or its controller. */
  skipped: boolean;
  limit: Resolvable;
  ttl: Resolvable;
  /** Undefined: as long as the window (`ttl`), the library's default. */
  blockDuration: Resolvable | undefined;
  getTracker: NonNullable<ThrottlerOptions['getTracker']>;
  generateKey: NonNullable<ThrottlerOptions['generateKey']>;
}

type Handler = ReturnType<ExecutionContext['getHandler']>;
type ControllerClass = ReturnType<ExecutionContext['getClass']>;

/**
 * The throttler guard, plus a plain `Retry-After` whichever limit was hit: the library names the
 * header after a non-default throttler (`Retry-After-auth`), which clients do not know to read.
 */
@Injectable()
export class AppThrottlerGuard extends ThrottlerGuard {
  private readonly throttled: Counter<'throttler'>;

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    metrics: MetricsService,
  ) {
    super(options, storage, reflector);
    this.throttled = metrics.counter({
      name: 'http_requests_throttled_total',
      help: 'HTTP requests answered 429, by the limit they passed (default or auth)',
      labelNames: ['throttler'],
    });
    // At 0 from the start, so that the rate of throttled requests reads 0 rather than nothing.
    for (const { name } of Array.isArray(options) ? options : options.throttlers) {
      this.throttled.inc({ throttler: name ?? 'default' }, 0);
    }
  }

  /**
   * Counts each request once: a cache hit answered early (`EarlyCacheHits`) runs this guard
   * before Nest's route does, and a miss then runs it again.
   *
   * The library's `canActivate`, with each route's decorators read once (`limitsOf`) instead of
   * six metadata look-ups and four awaits per throttler on every request; the counting,
   * headers and refusal are still the library's `handleRequest`.
   */
  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<Record<symbol, boolean>>();
    if (request[COUNTED]) {
      return true;
    }
    let allowed = true;
    for (const route of this.limitsOf(context.getHandler(), context.getClass())) {
      const skipIf = route.throttler.skipIf ?? this.commonOptions.skipIf;
      if (route.skipped || skipIf?.(context)) {
        continue;
      }
      const ttl = await resolved(context, route.ttl, 'ttl', route.throttler.name);
      allowed =
        (await this.handleRequest({
          context,
          limit: await resolved(context, route.limit, 'limit', route.throttler.name),
          ttl,
          blockDuration:
            route.blockDuration === undefined
              ? ttl
              : await resolved(context, route.blockDuration, 'blockDuration', route.throttler.name),
          throttler: route.throttler,
          getTracker: route.getTracker,
          generateKey: route.generateKey,
        })) && allowed;
    }
    request[COUNTED] = true;
    return allowed;
  }

  private readonly limitsByRoute = new WeakMap<Handler, Map<ControllerClass, RouteLimit[]>>();

  /** The throttlers as they apply to a route, from its and its controller's decorators. */
  private limitsOf(handler: Handler, controller: ControllerClass): RouteLimit[] {
    let byController = this.limitsByRoute.get(handler);
    if (!byController) {
      byController = new Map();
      this.limitsByRoute.set(handler, byController);
    }
    let limits = byController.get(controller);
    if (!limits) {
      const read = <T>(key: string, name: string) =>
        this.reflector.getAllAndOverride<T | undefined>(key + name, [handler, controller]);
      limits = (this.throttlers as RouteLimit['throttler'][]).map((throttler) => ({
        throttler,
        skipped: read<boolean>(THROTTLER_SKIP, throttler.name) === true,
        limit: read<Resolvable>(THROTTLER_LIMIT, throttler.name) ?? throttler.limit,
        ttl: read<Resolvable>(THROTTLER_TTL, throttler.name) ?? throttler.ttl,
        blockDuration:
          read<Resolvable>(THROTTLER_BLOCK_DURATION, throttler.name) ?? throttler.blockDuration,
        getTracker: (read<RouteLimit['getTracker']>(THROTTLER_TRACKER, throttler.name) ||
          throttler.getTracker ||
          this.commonOptions.getTracker) as RouteLimit['getTracker'],
        generateKey: (read<RouteLimit['generateKey']>(THROTTLER_KEY_GENERATOR, throttler.name) ||
          throttler.generateKey ||
          this.commonOptions.generateKey) as RouteLimit['generateKey'],
      }));
      byController.set(controller, limits);
    }
    return limits;
  }

  protected override throwThrottlingException(
    context: ExecutionContext,
    limit: ThrottlerLimitDetail,
  ): Promise<void> {
    const response = context
      .switchToHttp()
      .getResponse<{ header(name: string, value: number): void }>();
    response.header('Retry-After', Math.max(1, limit.timeToBlockExpire));
    this.throttled.inc({ throttler: limit.key.split(':')[0] });
    throw new ThrottlerException();
  }
}

/** A throttler option as the library resolves it: a number, or a function of the request's context. */
async function resolved(
  context: ExecutionContext,
  value: Resolvable,
  option: string,
  throttlerName: string,
): Promise<number> {
  const result = typeof value === 'function' ? await value(context) : value;
  const number =
    typeof result === 'string' && (result as string).trim() !== '' ? Number(result) : result;
  if (typeof number !== 'number' || Number.isNaN(number)) {
    throw new Error(
      `Invalid "${option}" for the "${throttlerName}" throttler: expected a number, got ${JSON.stringify(result)}.`,
    );
  }
  return number;
}
