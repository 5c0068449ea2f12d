import { ValueTransformer } from 'typeorm';

/**
 * A `bigint` column read as a JS number. PostgreSQL's driver returns int8 as a string and
 * SQLite's as a number; counters such as a room's `lastSeq` stay far below 2^53.
 */
export const bigintNumber: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) => (value === null ? null : Number(value)),
};
