/** A well-formed id that no user, room or message has: what "does not exist" looks like. */
export const MISSING_ID = '00000000-0000-4000-8000-000000000000';
