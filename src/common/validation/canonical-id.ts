import { applyDecorators, ArgumentMetadata, Injectable, ParseUUIDPipe } from '@nestjs/common';
import { Transform } from 'class-transformer';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { IsUUID } from 'class-validator';

/**
 * User, room and message ids are UUIDs, which a client may type in either letter case and which
 * PostgreSQL compares without regard to it. Everything past the boundary (SQLite's text
 * comparison, bus channels, cache keys and tags, the answers) sees one form, lower case: every id
 * that enters goes through `canonicalId`, by the pipe, decorator and hook below.
 */
export function canonicalId(id: string): string {
  return id.toLowerCase();
}

/** `@IsId()`'s transform: a string in its canonical form, anything else as it came. */
export function toCanonicalId({ value }: { value: unknown }): unknown {
  return typeof value === 'string' ? canonicalId(value) : value;
}

/** A DTO field holding an id: a UUID in either case, handed on in its canonical form. */
export function IsId(): PropertyDecorator {
  return applyDecorators(Transform(toCanonicalId), IsUUID());
}

/** A path parameter holding an id (`@Param('id', ParseIdPipe)`): a 400 unless it is a UUID. */
@Injectable()
export class ParseIdPipe extends ParseUUIDPipe {
  override async transform(value: string, metadata: ArgumentMetadata): Promise<string> {
    return canonicalId(await super.transform(value, metadata));
  }
}

/** What `ParseUUIDPipe` accepts, in either case: values of this shape are ids. */
const UUID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Every request's path parameters with each id in its canonical form, in place, as it arrives:
 * the response cache builds its keys and tags from the raw parameters before any pipe runs (and
 * answers in-process hits before Nest's routing, in a hook registered after this one). Other
 * values are left for the route's pipe to refuse.
 */
export function registerCanonicalPathIds(app: NestFastifyApplication): void {
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', (request, _reply, done) => {
      canonicalizePathIds(request.params as Record<string, unknown>);
      done();
    });
}

export function canonicalizePathIds(params: Record<string, unknown> | undefined): void {
  if (!params) {
    return;
  }
  for (const name in params) {
    const value = params[name];
    if (typeof value === 'string' && UUID_SHAPE.test(value) && value !== canonicalId(value)) {
      params[name] = canonicalId(value);
    }
  }
}
