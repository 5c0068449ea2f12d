import { defaults, types } from 'pg';

const TIMESTAMP_WITHOUT_TIME_ZONE_OID = 1114;

/**
 * Entities use `timestamp` columns so that one entity definition fits SQLite and PostgreSQL.
 * PostgreSQL's `timestamp` has no zone, so pin every value to UTC on the way in and out:
 * otherwise two hosts in different time zones would read different instants.
 */
export function storeTimestampsAsUtc(): void {
  defaults.parseInputDatesAsUTC = true;
  types.setTypeParser(
    TIMESTAMP_WITHOUT_TIME_ZONE_OID,
    (value) => new Date(`${value.replace(' ', 'T')}Z`),
  );
}

/** Connection options that make the server side's `now()` UTC too. */
export const UTC_SESSION_OPTIONS = '-c TimeZone=UTC';
