import { Type } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import type { OpenAPIObject } from '@nestjs/swagger';
import Ajv, { ValidateFunction } from 'ajv';
import type { RouteHandler } from '@app/bootstrap/route-handlers';
import {
  bodySchemaOf,
  InlineSchema,
  operationsOf,
  querySchemaOf,
} from '@app/openapi/document-schemas';
import { canonicalId } from './canonical-id';
import { CompiledLocation, DtoSchema, dtoSchemaOf } from './dto-schema';

export type { CompiledLocation } from './dto-schema';

/**
 * validator.js (class-validator's `Length`) does not count a variation selector after a
 * character, where JSON Schema's `maxLength` counts every code point: with none in the input the
 * two lengths are the same, and with one the request goes to class-validator.
 */
const VARIATION_SELECTOR = /[\uFE0E\uFE0F]/;

/** A DTO's compiled check, and the fields it hands on in canonical id form. */
interface CompiledDto {
  validate: ValidateFunction;
  canonicalIds: string[];
  /** From the OpenAPI document, or from the class's own rules (WebSocket frames, id fields). */
  source: 'document' | 'class';
}

/**
 * Request DTOs checked by compiled code (Ajv) instead of class-validator. A route's body and
 * query DTO is compiled from the OpenAPI document when the document says exactly what the DTO's
 * rules say (checked at start-up, keyword by keyword): what the document states is what the
 * server enforces. Any other DTO whose rules all have an exact JSON-schema equivalent (WebSocket
 * frames, ids) is compiled from its class on first use. A value the compiled schema accepts is
 * accepted by the rules too, with the same result; a value it refuses goes to class-validator,
 * which writes the 400 it always wrote, field by field. DTOs with rules no schema states exactly
 * (patterns, trims) stay on class-validator.
 */
export class CompiledRequestSchemas {
  private readonly compiled = new Map<
    Type,
    Partial<Record<CompiledLocation, CompiledDto | null>>
  >();
  private readonly bodies = new Ajv({ strict: false, validateFormats: false, useDefaults: true });
  // Query values arrive as strings; `@Type(() => Number)` turns them into numbers as Ajv does.
  private readonly queries = new Ajv({
    strict: false,
    validateFormats: false,
    useDefaults: true,
    coerceTypes: true,
  });

  /** Compiles the body and whole-query DTO of every handler the document describes. */
  compile(document: OpenAPIObject, handlers: Iterable<RouteHandler>): void {
    const operations = operationsOf(document);
    for (const { controller, name } of handlers) {
      const documented = operations.get(name);
      if (!documented) {
        continue;
      }
      const dtos = dtoArgumentsOf(controller, name);
      if (dtos.body) {
        this.fromDocument(dtos.body, 'body', bodySchemaOf(document, documented.operation));
      }
      if (dtos.query) {
        this.fromDocument(dtos.query, 'query', querySchemaOf(document, documented.operation));
      }
    }
  }

  /**
   * The DTO as class-transformer and class-validator would make it, or undefined when the
   * compiled schema does not accept the value (or the DTO cannot be compiled): then the pipe runs.
   */
  accept(metatype: Type, location: CompiledLocation, value: unknown): object | undefined {
    const dto = this.compiledDto(metatype, location);
    if (!dto || typeof value !== 'object' || value === null || Array.isArray(value)) {
      return undefined;
    }
    // A copy: Ajv writes coerced values and defaults into what it checks.
    const copy = { ...value } as Record<string, unknown>;
    if (!dto.validate(copy) || hasVariationSelector(copy)) {
      return undefined;
    }
    for (const field of dto.canonicalIds) {
      if (typeof copy[field] === 'string') {
        copy[field] = canonicalId(copy[field]);
      }
    }
    return Object.assign(new metatype() as object, copy);
  }

  /** Where the DTO's compiled check there comes from; undefined: class-validator checks it. */
  compiledFrom(metatype: Type, location: CompiledLocation): CompiledDto['source'] | undefined {
    return this.compiledDto(metatype, location)?.source;
  }

  private compiledDto(metatype: Type, location: CompiledLocation): CompiledDto | undefined {
    let dto = this.compiled.get(metatype)?.[location];
    if (dto === undefined) {
      const derived = dtoSchemaOf(metatype, location);
      dto = derived ? this.compileFromClass(derived, location) : null;
      this.remember(metatype, location, dto);
    }
    return dto ?? undefined;
  }

  /** Null when Ajv cannot compile it: class-validator then checks it, as before. */
  private compileFromClass(derived: DtoSchema, location: CompiledLocation): CompiledDto | null {
    try {
      return this.compileSchema(derived.schema, derived, location, 'class');
    } catch {
      return null;
    }
  }

  private fromDocument(
    metatype: Type,
    location: CompiledLocation,
    schema: InlineSchema | undefined,
  ): void {
    if (this.compiled.get(metatype)?.[location]) {
      return;
    }
    const derived = dtoSchemaOf(metatype, location);
    if (schema && derived && statesExactly(schema, derived, metatype)) {
      this.remember(metatype, location, this.compileSchema(schema, derived, location, 'document'));
    }
  }

  private compileSchema(
    schema: InlineSchema,
    derived: DtoSchema,
    location: CompiledLocation,
    source: CompiledDto['source'],
  ): CompiledDto {
    const ajv = location === 'query' ? this.queries : this.bodies;
    return { validate: ajv.compile(schema), canonicalIds: derived.canonicalIds, source };
  }

  private remember(metatype: Type, location: CompiledLocation, dto: CompiledDto | null): void {
    this.compiled.set(metatype, { ...this.compiled.get(metatype), [location]: dto });
  }
}

/**
 * Whether the document's schema accepts exactly what the DTO's rules accept and makes the same
 * values: the same properties, required where the rules require them, every keyword the rules
 * imply stated with the same value (a keyword the document adds can only refuse more, which sends
 * the value to class-validator), defaults the class also sets, no `nullable`.
 */
function statesExactly(schema: InlineSchema, derived: DtoSchema, metatype: Type): boolean {
  const properties = (schema.properties ?? {}) as Record<string, InlineSchema>;
  const required = new Set((schema.required ?? []) as string[]);
  const names = Object.keys(derived.schema.properties);
  if (
    schema.type !== 'object' ||
    schema.additionalProperties !== false ||
    !sameSet(new Set(names), new Set(Object.keys(properties))) ||
    !sameSet(new Set(derived.schema.required), required)
  ) {
    return false;
  }
  const instance = new metatype() as Record<string, unknown>;
  return names.every((name) => {
    const stated = properties[name];
    return (
      Object.entries(derived.schema.properties[name]).every(
        ([keyword, value]) => stated[keyword] === value,
      ) &&
      stated.nullable === undefined &&
      (!('default' in stated) || stated.default === instance[name])
    );
  });
}

/** The DTO classes of a handler's `@Body()` and whole `@Query()` arguments. */
function dtoArgumentsOf(controller: Type, name: string): { body?: Type; query?: Type } {
  const routeArguments = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, name) ??
    {}) as Record<string, { index: number; data?: unknown; pipes?: unknown[] }>;
  const parameterTypes = (Reflect.getMetadata(
    'design:paramtypes',
    controller.prototype as object,
    name,
  ) ?? []) as Type[];
  const found: { body?: Type; query?: Type } = {};
  for (const [key, argument] of Object.entries(routeArguments)) {
    // `@Body('field')`, `@Query('name')` and arguments with pipes of their own are not DTOs.
    if (argument.data !== undefined || (argument.pipes?.length ?? 0) > 0) {
      continue;
    }
    const paramType = key.split(':')[0];
    const type = parameterTypes[argument.index];
    if (paramType === String(RouteParamtypes.BODY)) {
      found.body = type;
    } else if (paramType === String(RouteParamtypes.QUERY)) {
      found.query = type;
    }
  }
  return found;
}

function sameSet(a: Set<string>, b: Set<string>): boolean {
  return a.size === b.size && [...a].every((item) => b.has(item));
}

function hasVariationSelector(value: Record<string, unknown>): boolean {
  for (const key in value) {
    const field = value[key];
    if (typeof field === 'string' && VARIATION_SELECTOR.test(field)) {
      return true;
    }
  }
  return false;
}
