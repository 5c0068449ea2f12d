/** A JSON Schema as Fastify's response serializer (fast-json-stringify) reads it. */
export type JsonSchema = Record<string, unknown>;

/**
 * The schema of a sample JSON value, keys in the sample's order, so that a bare route serializes
 * an equal value to the same bytes through a compiled serializer, as a Nest route with a response
 * DTO would. Array items follow the first item; when items differ in shape the items schema is
 * left open (`{}`, plain JSON.stringify), which still yields the same bytes.
 */
export function jsonSchemaOf(value: unknown): JsonSchema {
  if (value === null) {
    return { type: 'null' };
  }
  if (Array.isArray(value)) {
    const itemSchemas = value.map(jsonSchemaOf);
    const first = JSON.stringify(itemSchemas[0] ?? {});
    const uniform = itemSchemas.every((schema) => JSON.stringify(schema) === first);
    return { type: 'array', items: uniform ? (itemSchemas[0] ?? {}) : {} };
  }
  switch (typeof value) {
    case 'string':
      return { type: 'string' };
    case 'number':
      return { type: Number.isInteger(value) ? 'integer' : 'number' };
    case 'boolean':
      return { type: 'boolean' };
    case 'object': {
      const entries = Object.entries(value as Record<string, unknown>);
      return {
        type: 'object',
        properties: Object.fromEntries(entries.map(([key, item]) => [key, jsonSchemaOf(item)])),
        required: entries.map(([key]) => key),
      };
    }
    default:
      return {};
  }
}
