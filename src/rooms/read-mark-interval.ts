/**
 * One write per member and room per this interval at most, however often they mark. A plain
 * module (no Nest), so that the bench's read-marks scenario can hold the server to it.
 */
export const READ_MARK_INTERVAL_MS = 1000;
