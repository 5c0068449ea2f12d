import type { Logger } from 'pino';

/** The process's pino loggers, both writing to stdout through one buffered stream. */
export interface Loggers {
  /** Nest's logs (through nestjs-pino), redacting secrets by path. */
  root: Logger;
  /** One line per request (`RequestLog`). */
  requests: Logger;
}

export const LOGGERS = Symbol('LOGGERS');
