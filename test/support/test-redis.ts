import { randomBytes } from 'node:crypto';

/**
 * Redis for one test suite: under `npm run test:services`, TEST_REDIS_URL names the server and
 * each suite gets its own key prefix (pass both to the app as REDIS_URL and REDIS_KEY_PREFIX).
 * On the embedded defaults there is none and the app runs in-process.
 */
export function testRedisEnvironment(): Record<string, string> {
  const url = process.env.TEST_REDIS_URL;
  if (!url) {
    return {};
  }
  return {
    REDIS_URL: url,
    REDIS_KEY_PREFIX: `switchboard-test-${randomBytes(4).toString('hex')}:`,
  };
}

/** The Redis server of `npm run test:services`; throws elsewhere, so a service suite cannot skip. */
export function requireTestRedisUrl(): string {
  const url = process.env.TEST_REDIS_URL;
  if (!url) {
    throw new Error('TEST_REDIS_URL is not set: run this suite with `npm run test:services`');
  }
  return url;
}
