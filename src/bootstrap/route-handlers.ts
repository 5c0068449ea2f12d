import { Type } from '@nestjs/common';
import { MetadataScanner, ModulesContainer } from '@nestjs/core';
import { FASTIFY_ROUTE_CONFIG_METADATA } from '@nestjs/platform-fastify/constants';
import type { FastifyRequest } from 'fastify';

/** A handler of a controller, as Nest's route metadata describes it. */
export interface RouteHandler {
  controller: Type;
  name: string;
}

/** What a Fastify route's config says about the Nest handler behind it. */
export interface NamedRoute {
  controller: Type;
  handler: (...args: never[]) => unknown;
}

const ROUTE_HANDLER_CONFIG = 'switchboard:routeHandler';

/** Every handler of every controller the application holds. */
export function routeHandlersOf(modules: ModulesContainer): RouteHandler[] {
  const scanner = new MetadataScanner();
  const handlers: RouteHandler[] = [];
  for (const module of modules.values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as Type | null;
      if (controller) {
        for (const name of scanner.getAllMethodNames(controller.prototype as object)) {
          handlers.push({ controller, name });
        }
      }
    }
  }
  return handlers;
}

/**
 * Puts each handler and its controller into its Fastify route's config, so that a Fastify hook
 * can run Nest's guards for the route before Nest does (the body parser runs before Nest's
 * router). Must run before `app.init()` registers the routes: Nest hands the route config
 * (`@RouteConfig()`'s metadata) to Fastify then.
 */
export function nameRouteHandlers(handlers: Iterable<RouteHandler>): void {
  for (const { controller, name } of handlers) {
    const handler = (controller.prototype as Record<string, NamedRoute['handler']>)[name];
    const config = (Reflect.getMetadata(FASTIFY_ROUTE_CONFIG_METADATA, handler) ?? {}) as object;
    Reflect.defineMetadata(
      FASTIFY_ROUTE_CONFIG_METADATA,
      { ...config, [ROUTE_HANDLER_CONFIG]: { controller, handler } satisfies NamedRoute },
      handler,
    );
  }
}

/** The Nest handler of the request's route; undefined for a route Nest did not register. */
export function namedRouteOf(request: FastifyRequest): NamedRoute | undefined {
  const config = request.routeOptions.config as unknown as Record<string, unknown> | undefined;
  return config?.[ROUTE_HANDLER_CONFIG] as NamedRoute | undefined;
}
