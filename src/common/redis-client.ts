import { Logger } from '@nestjs/common';
import Redis from 'ioredis';

/** A Redis command waits this long before it fails and the caller falls back. */
export const REDIS_COMMAND_TIMEOUT_MS = 200;

/**
 * An ioredis client for a feature that must keep serving while Redis is away: commands fail fast
 * instead of queueing (a queued command would hold its request until Redis returns), the client
 * reconnects by itself, and connection errors are logged once per outage, not once per retry.
 */
export function createFailFastRedis(url: string, keyPrefix: string, purpose: string): Redis {
  const logger = new Logger(`Redis:${purpose}`);
  const redis = new Redis(url, {
    keyPrefix,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
  });
  let down = false;
  redis.on('error', (error: Error) => {
    if (!down) {
      down = true;
      logger.warn(`Redis unavailable: ${error.message}`);
    }
  });
  redis.on('ready', () => {
    if (down) {
      down = false;
      logger.log('Redis is back');
    }
  });
  return redis;
}
