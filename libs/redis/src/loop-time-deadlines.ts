import { performance } from 'node:perf_hooks';

/** How a watched item is asked whether it still waits, and failed when its time is up. */
export interface DeadlineTarget<T> {
  pending(item: T): boolean;
  expire(item: T): void;
}

interface Watched<T> {
  item: T;
  /** Loop time when it started waiting. */
  since: number;
}

/**
 * One timeout for many waiting items (commands, probes), counted in time the event loop was free
 * to read their answers. A timer per item measures the event loop too: after a stall of our own
 * process (a big fan-out, a GC) the timers run before the loop reads the answers already waiting
 * in the socket, and answered work is called timed out.
 *
 * One ticker advances a clock by the time between ticks, but by at most two tick intervals: a
 * tick later than that shows a busy loop, and the rest of the gap is not the remote side's. An
 * item whose budget is spent is failed in the check phase, after the poll phase has read any
 * answer that had arrived. A remote side that does not answer still fails after `timeoutMs`.
 */
export class LoopTimeDeadlines<T> {
  private readonly tickMs: number;
  private readonly maxCreditMs: number;
  /** In the order they started: with one budget, the oldest expires first. */
  private queue: Watched<T>[] = [];
  private head = 0;
  private ticker: NodeJS.Timeout | undefined;
  private loopTime = 0;
  private lastTickAt = 0;

  constructor(
    private readonly timeoutMs: number,
    private readonly target: DeadlineTarget<T>,
  ) {
    this.tickMs = Math.min(50, Math.max(5, Math.round(timeoutMs / 10)));
    this.maxCreditMs = 2 * this.tickMs;
  }

  /** How many items it still watches (settled ones leave at the next tick). */
  get watching(): number {
    return this.queue.length - this.head;
  }

  watch(item: T): void {
    if (!this.ticker) {
      this.lastTickAt = performance.now();
      this.ticker = setInterval(() => this.tick(), this.tickMs);
      // Never what keeps a process alive.
      this.ticker.unref();
    }
    this.queue.push({ item, since: this.now() });
  }

  /** Stops watching; nothing watched so far expires any more. */
  stop(): void {
    clearInterval(this.ticker);
    this.ticker = undefined;
    this.queue = [];
    this.head = 0;
  }

  /** Loop time up to this moment: the gap since the last tick is credited up to the same cap. */
  private now(): number {
    return this.loopTime + Math.min(performance.now() - this.lastTickAt, this.maxCreditMs);
  }

  private tick(): void {
    this.loopTime = this.now();
    this.lastTickAt = performance.now();
    const expired: T[] = [];
    while (this.head < this.queue.length) {
      const { item, since } = this.queue[this.head];
      const pending = this.target.pending(item);
      if (pending && this.loopTime - since < this.timeoutMs) {
        break;
      }
      if (pending) {
        expired.push(item);
      }
      this.head += 1;
    }
    if (this.head === this.queue.length) {
      this.stop();
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (expired.length > 0) {
      // After the poll phase: an answer already in the socket buffer still counts.
      setImmediate(() => {
        for (const item of expired) {
          if (this.target.pending(item)) {
            this.target.expire(item);
          }
        }
      });
    }
  }
}

/**
 * `promise`, or a rejection with `timeoutError()` once it has waited `timeoutMs` of loop time
 * (see `LoopTimeDeadlines`). For occasional work such as a readiness probe: one ticker each.
 */
export async function withinLoopTime<T>(
  promise: Promise<T>,
  timeoutMs: number,
  timeoutError: () => Error,
): Promise<T> {
  let settled = false;
  const deadline = new LoopTimeDeadlines<null>(timeoutMs, {
    pending: () => !settled,
    expire: () => expire(),
  });
  let expire: () => void = () => undefined;
  const timedOut = new Promise<never>((_, reject) => {
    expire = () => reject(timeoutError());
  });
  deadline.watch(null);
  try {
    return await Promise.race([promise, timedOut]);
  } finally {
    settled = true;
    deadline.stop();
  }
}
