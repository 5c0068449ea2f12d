import { Type } from '@nestjs/common';
import { TransformationType } from 'class-transformer';
import { defaultMetadataStorage } from 'class-transformer/cjs/storage';
import { getMetadataStorage, ValidationTypes } from 'class-validator';
import type { InlineSchema } from '@app/openapi/document-schemas';
import { toCanonicalId } from './canonical-id';

export type CompiledLocation = 'body' | 'query';

/** What a DTO class's rules say, as one JSON schema, and the fields `@IsId()` lower-cases. */
export interface DtoSchema {
  schema: InlineSchema & { properties: Record<string, InlineSchema>; required: string[] };
  canonicalIds: string[];
}

/**
 * validator.js's `isUUID` (version "all", case-insensitive), which `@IsUUID()` runs, written
 * without the `i` flag that JSON Schema patterns cannot carry.
 */
const UUID_PATTERN =
  '^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}' +
  '|00000000-0000-0000-0000-000000000000|[fF]{8}-[fF]{4}-[fF]{4}-[fF]{4}-[fF]{12})$';

/**
 * The class-validator rules a JSON schema states exactly, with the keywords that say the same
 * (each rule also checks its value's type, so the keyword comes with it). Any other rule keeps
 * the DTO on class-validator.
 */
const RULE_KEYWORDS: Record<string, (constraints: unknown[]) => InlineSchema | undefined> = {
  isString: () => ({ type: 'string' }),
  isInt: () => ({ type: 'integer' }),
  isLength: ([minLength, maxLength]) =>
    definedOnly({ type: 'string', minLength: minLength ?? 0, maxLength }),
  minLength: ([minLength]) => ({ type: 'string', minLength }),
  maxLength: ([maxLength]) => ({ type: 'string', maxLength }),
  min: ([minimum]) => ({ minimum }),
  max: ([maximum]) => ({ maximum }),
  isUuid: ([version]) =>
    version === undefined || version === 'all'
      ? { type: 'string', pattern: UUID_PATTERN }
      : undefined,
};

/**
 * The JSON schema that accepts exactly what the DTO class's class-validator rules accept (with
 * unknown fields refused, as the app's pipe does), or undefined when a rule or a transform has no
 * exact equivalent. `@Type(() => Number)` is kept only where Ajv converts as class-transformer
 * does (query values; in a JSON body, Ajv then refuses a number sent as a string, and
 * class-validator answers). `@IsId()`'s lower-casing is named, for the caller to apply.
 */
export function dtoSchemaOf(metatype: Type, location: CompiledLocation): DtoSchema | undefined {
  const rules = getMetadataStorage().getTargetValidationMetadatas(metatype, '', true, false);
  if (rules.length === 0) {
    return undefined;
  }
  const properties: Record<string, InlineSchema> = {};
  const required: string[] = [];
  const canonicalIds: string[] = [];
  for (const name of new Set(rules.map((rule) => rule.propertyName))) {
    const own = rules.filter((rule) => rule.propertyName === name);
    const property: InlineSchema = {};
    for (const rule of own) {
      if (rule.type === ValidationTypes.CONDITIONAL_VALIDATION) {
        // `@IsOptional()` only: `@ValidateIf()` decides per value.
        if (rule.name !== 'isOptional') {
          return undefined;
        }
        continue;
      }
      const keywords =
        rule.type === ValidationTypes.CUSTOM_VALIDATION && rule.name && rule.each !== true
          ? RULE_KEYWORDS[rule.name]?.(rule.constraints ?? [])
          : undefined;
      if (!keywords || (keywords.type && property.type && keywords.type !== property.type)) {
        return undefined;
      }
      Object.assign(property, keywords);
    }
    if ((property.minimum !== undefined || property.maximum !== undefined) && !property.type) {
      property.type = 'number';
    }
    const convertsToNumber = defaultMetadataStorage.findTypeMetadata(metatype, name);
    if (convertsToNumber) {
      const numeric = property.type === 'integer' || property.type === 'number';
      if (convertsToNumber.typeFunction() !== Number || !numeric) {
        return undefined;
      }
    } else if (location === 'query' && property.type !== 'string') {
      // Ajv would turn "5" into 5 where class-validator, without @Type, refuses it.
      return undefined;
    }
    if (
      defaultMetadataStorage.findExposeMetadata(metatype, name) ||
      defaultMetadataStorage.findExcludeMetadata(metatype, name)
    ) {
      return undefined;
    }
    const transforms = defaultMetadataStorage.findTransformMetadatas(
      metatype,
      name,
      TransformationType.PLAIN_TO_CLASS,
    );
    if (transforms.some((transform) => transform.transformFn !== toCanonicalId)) {
      return undefined;
    }
    if (transforms.length > 0) {
      if (property.pattern !== UUID_PATTERN) {
        return undefined;
      }
      canonicalIds.push(name);
    }
    properties[name] = property;
    if (!own.some((rule) => rule.type === ValidationTypes.CONDITIONAL_VALIDATION)) {
      required.push(name);
    }
  }
  return {
    schema: { type: 'object', properties, required, additionalProperties: false },
    canonicalIds,
  };
}

/** The keywords whose value is set (`@Length(1)` has no maximum). */
function definedOnly(keywords: InlineSchema): InlineSchema {
  return Object.fromEntries(Object.entries(keywords).filter(([, value]) => value !== undefined));
}
