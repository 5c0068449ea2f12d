import { setTimeout as sleep } from 'node:timers/promises';

// The test suites' helper: a port of 127.0.0.1 that was free a moment ago.
export { findFreePort } from '@test/support/network';

/** Polls `url` until it answers 200; throws when `gaveUp()` says so or after `timeoutMs`. */
export async function waitForOk(
  url: string,
  timeoutMs: number,
  gaveUp: () => string | undefined = () => undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reason = gaveUp() ?? (Date.now() > deadline ? `no answer within ${timeoutMs} ms` : '');
    if (reason) {
      throw new Error(`${url}: ${reason}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (response.ok) {
        return;
      }
    } catch {
      // Not listening yet.
    }
    await sleep(100);
  }
}
