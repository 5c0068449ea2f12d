import type { OpenAPIObject } from '@nestjs/swagger';
import type {
  OperationObject,
  ParameterObject,
  ReferenceObject,
  RequestBodyObject,
  ResponseObject,
  SchemaObject,
} from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';

/** A JSON schema with every `$ref` of the document replaced by what it names. */
export type InlineSchema = Record<string, unknown>;

const COMPONENT_SCHEMA_REF = '#/components/schemas/';
/** The operations of a path item the API uses. */
export const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/** One operation of the document, as a route sees it. */
export interface DocumentedOperation {
  method: Uppercase<(typeof METHODS)[number]>;
  /** The Fastify route template: `/api/rooms/:id/messages`. */
  url: string;
  operation: OperationObject;
}

/** Every operation of the document, keyed by operationId (the handler's name). */
export function operationsOf(document: OpenAPIObject): Map<string, DocumentedOperation> {
  const operations = new Map<string, DocumentedOperation>();
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (operation?.operationId) {
        operations.set(operation.operationId, {
          method: method.toUpperCase() as DocumentedOperation['method'],
          url: path.replace(/\{([^}]+)\}/g, ':$1'),
          operation,
        });
      }
    }
  }
  return operations;
}

/**
 * The query parameters of an operation as one object schema: what a whole-query DTO
 * (`@Query() query: PageQueryDto`) describes. Unknown names are refused, as the validation pipe
 * refuses them (`forbidNonWhitelisted`).
 */
export function querySchemaOf(document: OpenAPIObject, operation: OperationObject): InlineSchema {
  const properties: Record<string, InlineSchema> = {};
  const required: string[] = [];
  for (const parameter of operation.parameters ?? []) {
    const { in: location, name, schema, required: isRequired } = parameter as ParameterObject;
    if (location !== 'query') {
      continue;
    }
    properties[name] = inlineSchema(document, schema ?? {});
    if (isRequired) {
      required.push(name);
    }
  }
  return { type: 'object', properties, required, additionalProperties: false };
}

/** The JSON body schema of an operation, or undefined when it takes none. */
export function bodySchemaOf(
  document: OpenAPIObject,
  operation: OperationObject,
): InlineSchema | undefined {
  const body = operation.requestBody as RequestBodyObject | undefined;
  const schema = body?.content['application/json']?.schema;
  return schema && inlineSchema(document, schema);
}

/** The schemas of an operation's 2xx JSON answers, by status code. */
export function successSchemasOf(
  document: OpenAPIObject,
  operation: OperationObject,
): Record<string, InlineSchema> {
  const schemas: Record<string, InlineSchema> = {};
  for (const [status, response] of Object.entries(operation.responses ?? {})) {
    const schema = (response as ResponseObject).content?.['application/json']?.schema;
    if (/^2\d\d$/.test(status) && schema) {
      schemas[status] = inlineSchema(document, schema);
    }
  }
  return schemas;
}

/**
 * The schema with each `#/components/schemas/…` reference replaced by a copy of the component,
 * so that Ajv and fast-json-stringify get a self-contained schema. The document's DTOs do not
 * refer to themselves; a cycle would throw here, at start-up.
 */
export function inlineSchema(
  document: OpenAPIObject,
  schema: SchemaObject | ReferenceObject,
  resolving: readonly string[] = [],
): InlineSchema {
  if ('$ref' in schema) {
    const name = schema.$ref.startsWith(COMPONENT_SCHEMA_REF)
      ? schema.$ref.slice(COMPONENT_SCHEMA_REF.length)
      : undefined;
    const component = name === undefined ? undefined : document.components?.schemas?.[name];
    if (!name || !component || resolving.includes(name)) {
      throw new Error(`The OpenAPI document's ${schema.$ref} cannot be inlined`);
    }
    return inlineSchema(document, component, [...resolving, name]);
  }
  return Object.fromEntries(
    Object.entries(schema).map(([key, value]) => [key, inlineValue(document, value, resolving)]),
  );
}

function inlineValue(
  document: OpenAPIObject,
  value: unknown,
  resolving: readonly string[],
): unknown {
  if (Array.isArray(value)) {
    return value.map((item) => inlineValue(document, item, resolving));
  }
  if (value !== null && typeof value === 'object') {
    return inlineSchema(document, value, resolving);
  }
  return value;
}
