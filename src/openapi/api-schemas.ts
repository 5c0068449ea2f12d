import { ApiPropertyOptions } from '@nestjs/swagger';

// Bounds the server guarantees for what it sends, so the document can state them.

/** A trimmed name must keep a character: the server refuses one that is blank after trimming. */
export const NOT_BLANK_PATTERN = '\\S';

/** A UUID as the server writes it. */
export const UUID_SCHEMA = {
  format: 'uuid',
  minLength: 36,
  maxLength: 36,
} satisfies ApiPropertyOptions;

/** `Date#toISOString()`: always 24 characters for the years the server stores. */
export const TIMESTAMP_SCHEMA = {
  format: 'date-time',
  maxLength: 24,
} satisfies ApiPropertyOptions;

/** A seq, or any count the server keeps as a JavaScript-safe integer. */
export const SEQ_SCHEMA = {
  type: 'integer',
  format: 'int64',
  minimum: 0,
  maximum: Number.MAX_SAFE_INTEGER,
} satisfies ApiPropertyOptions;
