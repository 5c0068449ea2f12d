import { Type } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import type { OpenAPIObject } from '@nestjs/swagger';
import Ajv, { ValidateFunction } from 'ajv';
import { TransformationType } from 'class-transformer';
import { defaultMetadataStorage } from 'class-transformer/cjs/storage';
import { getMetadataStorage, ValidationTypes } from 'class-validator';
import type { RouteHandler } from '@app/bootstrap/route-handlers';
import {
  bodySchemaOf,
  InlineSchema,
  operationsOf,
  querySchemaOf,
} from '@app/openapi/document-schemas';

export type CompiledLocation = 'body' | 'query';

/**
 * The class-validator rules a JSON schema states exactly, with the schema keywords that say the
 * same: a DTO made of these alone is checked by compiled code (Ajv); any other rule (a pattern, a
 * UUID, an `@Transform`) keeps the DTO on class-validator.
 */
const SCHEMA_EQUIVALENTS: Record<
  string,
  (schema: InlineSchema, constraints: unknown[]) => boolean
> = {
  isString: (schema) => schema.type === 'string',
  isInt: (schema) => schema.type === 'integer',
  isLength: (schema, [min, max]) => schema.minLength === min && schema.maxLength === max,
  min: (schema, [minimum]) => schema.minimum === minimum,
  max: (schema, [maximum]) => schema.maximum === maximum,
};

/**
 * validator.js (class-validator's `Length`) does not count a variation selector after a
 * character, where JSON Schema's `maxLength` counts every code point: with none in the input the
 * two lengths are the same, and with one the request goes to class-validator.
 */
const VARIATION_SELECTOR = /[\uFE0E\uFE0F]/;

/**
 * The request DTOs of the routes compiled from the OpenAPI document: what the document states
 * is what Ajv checks, once compiled. A DTO is compiled only when the document's schema says
 * exactly what its class-validator rules say (checked at start-up, rule by rule); otherwise it
 * stays on class-validator. A value the compiled schema accepts is accepted by the rules too,
 * with the same result; a value it refuses goes to class-validator, which writes the 400 it
 * always wrote, field by field.
 */
export class CompiledRequestSchemas {
  private readonly validators = new Map<
    Type,
    Partial<Record<CompiledLocation, ValidateFunction>>
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
        const schema = bodySchemaOf(document, documented.operation);
        this.add(dtos.body, 'body', schema);
      }
      if (dtos.query) {
        this.add(dtos.query, 'query', querySchemaOf(document, documented.operation));
      }
    }
  }

  /**
   * The DTO as class-transformer and class-validator would make it, or undefined when the
   * compiled schema does not accept the value (or the DTO is not compiled): then the pipe runs.
   */
  accept(metatype: Type, location: CompiledLocation, value: unknown): object | undefined {
    const validate = this.validators.get(metatype)?.[location];
    if (!validate || typeof value !== 'object' || value === null || Array.isArray(value)) {
      return undefined;
    }
    // A copy: Ajv writes coerced values and defaults into what it checks.
    const copy = { ...value } as Record<string, unknown>;
    if (!validate(copy) || hasVariationSelector(copy)) {
      return undefined;
    }
    return Object.assign(new metatype() as object, copy);
  }

  /** Whether the DTO is checked by a compiled schema there (for tests and the start-up log). */
  isCompiled(metatype: Type, location: CompiledLocation): boolean {
    return this.validators.get(metatype)?.[location] !== undefined;
  }

  private add(metatype: Type, location: CompiledLocation, schema: InlineSchema | undefined): void {
    if (
      !schema ||
      this.isCompiled(metatype, location) ||
      !statesExactly(schema, metatype, location)
    ) {
      return;
    }
    const ajv = location === 'query' ? this.queries : this.bodies;
    this.validators.set(metatype, {
      ...this.validators.get(metatype),
      [location]: ajv.compile(schema),
    });
  }
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

/**
 * Whether the schema accepts exactly what the DTO's rules accept, and makes the same values:
 * the same properties, each rule stated by its keyword, optional where `@IsOptional()` is, no
 * `@Transform()`, `@Type(() => Number)` on query values only, defaults the class also sets.
 */
function statesExactly(schema: InlineSchema, metatype: Type, location: CompiledLocation): boolean {
  const properties = (schema.properties ?? {}) as Record<string, InlineSchema>;
  const required = new Set((schema.required ?? []) as string[]);
  const rules = getMetadataStorage().getTargetValidationMetadatas(metatype, '', true, false);
  const ruled = new Set(rules.map((rule) => rule.propertyName));
  if (
    schema.type !== 'object' ||
    schema.additionalProperties !== false ||
    !sameSet(ruled, new Set(Object.keys(properties)))
  ) {
    return false;
  }
  const instance = new metatype() as Record<string, unknown>;
  for (const name of ruled) {
    const property = properties[name];
    const own = rules.filter((rule) => rule.propertyName === name);
    const optional = own.some((rule) => rule.type === ValidationTypes.CONDITIONAL_VALIDATION);
    const stated = own.every(
      (rule) =>
        rule.type === ValidationTypes.CONDITIONAL_VALIDATION ||
        (rule.type === ValidationTypes.CUSTOM_VALIDATION &&
          rule.name !== undefined &&
          rule.each !== true &&
          SCHEMA_EQUIVALENTS[rule.name]?.(property, rule.constraints ?? []) === true),
    );
    const type = defaultMetadataStorage.findTypeMetadata(metatype, name);
    const converts = type === undefined || (location === 'query' && type.typeFunction() === Number);
    if (
      !stated ||
      !converts ||
      optional === required.has(name) ||
      property.nullable !== undefined ||
      defaultMetadataStorage.findTransformMetadatas(
        metatype,
        name,
        TransformationType.PLAIN_TO_CLASS,
      ).length > 0 ||
      ('default' in property && property.default !== instance[name])
    ) {
      return false;
    }
  }
  return true;
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
