import { AppConfig } from '@config';

export type LogFormat = 'pretty' | 'json';

/**
 * Readable, coloured lines for a person at a terminal; one JSON object per line for everything
 * else (a pipe, a file, a log collector) and always in production.
 */
export function logFormatFor(
  environment: AppConfig['environment'],
  stdoutIsTerminal: boolean,
): LogFormat {
  return stdoutIsTerminal && environment !== 'production' ? 'pretty' : 'json';
}
