/** What a shutdown does, step by step; `drainThenClose` runs them in the order a balancer needs. */
export interface ShutdownSteps {
  /** Readiness answers 503 from now on; every other route keeps serving. */
  beginDrain(): void;
  /** The port refuses new connections, upgrades get 503; open ones end after their next response. */
  stopAccepting(): void;
  /** Waits for the HTTP connections to end; returns how many were still open at `deadline`. */
  finishHttp(deadline: number): Promise<number>;
  /** Closes the WebSockets with 1001; returns how many had not answered the close by `deadline`. */
  closeWebSockets(deadline: number): Promise<number>;
  /** Cuts off the WebSockets still open; returns how many were still open at `deadline`. */
  terminateWebSockets(deadline: number): Promise<number>;
  /** Closes the application: Redis, the database and every other module's resources. */
  closeModules(): Promise<void>;
}

export interface ShutdownTiming {
  /** How long the server keeps accepting after readiness turned 503. */
  drainDelayMs: number;
  /** When the whole shutdown must be over (epoch ms). */
  deadline: number;
}

/** Kept for closing the WebSockets and the modules, however long the HTTP requests take. */
const CLOSING_RESERVE_MS = 2000;
/** Kept for closing the modules, however long the WebSockets take. */
const MODULES_RESERVE_MS = 1000;
/**
 * How long a WebSocket gets to answer the 1001 before it is cut off (at most half of what is left
 * for the WebSockets): a peer whose network is gone never answers, and must not hold the exit.
 */
const WEBSOCKET_CLOSE_GRACE_MS = 2000;

/**
 * The drain: readiness 503 at once, serving on for the drain delay (a balancer that probes
 * readiness stops sending meanwhile), then no new connections or upgrades, in-flight requests
 * finish, the WebSockets close with 1001 (those that do not answer in time are cut off), and
 * only then Redis and the database close, so that every request that reached the process is
 * answered against live dependencies (its cache invalidations included). `log` gets one line
 * per step: operators and the tests read the order there.
 */
export async function drainThenClose(
  steps: ShutdownSteps,
  timing: ShutdownTiming,
  log: (message: string) => void,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): Promise<void> {
  steps.beginDrain();
  log(`drain: readiness answers 503; serving for ${timing.drainDelayMs} ms more`);
  await sleep(timing.drainDelayMs);

  steps.stopAccepting();
  log('drain: stopped accepting connections');
  const httpLeft = await steps.finishHttp(
    Math.max(Date.now(), timing.deadline - CLOSING_RESERVE_MS),
  );
  log(
    httpLeft === 0
      ? 'drain: in-flight HTTP requests finished'
      : `drain: ${httpLeft} HTTP connections still open: going on`,
  );

  const socketsDeadline = Math.max(Date.now(), timing.deadline - MODULES_RESERVE_MS);
  const grace = Math.min(WEBSOCKET_CLOSE_GRACE_MS, (socketsDeadline - Date.now()) / 2);
  const unanswered = await steps.closeWebSockets(Date.now() + grace);
  if (unanswered === 0) {
    log('drain: WebSockets closed (1001)');
  } else {
    const socketsLeft = await steps.terminateWebSockets(socketsDeadline);
    log(
      socketsLeft === 0
        ? `drain: WebSockets closed (1001), ${unanswered} cut off without an answer`
        : `drain: ${socketsLeft} WebSockets still closing: going on`,
    );
  }

  await steps.closeModules();
  log('drain: Redis and the database closed');
}
