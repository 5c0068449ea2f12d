import { LoggerService } from '@nestjs/common';

export class OperationTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.name = OperationTimeoutError.name;
  }
}

/** `promise`, or an `OperationTimeoutError` once `timeoutMs` have passed. */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new OperationTimeoutError(timeoutMs)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export type CircuitState = 'up' | 'down' | 'stopped';

/** A recovery step (replaying missed invalidations) that takes longer than this is retried. */
const RECOVERY_TIMEOUT_MS = 30_000;

export interface CircuitBreakerOptions {
  /** Names the dependency in log lines, e.g. "Redis cache tier". */
  name: string;
  timeoutMs: number;
  retryIntervalMs: number;
  /** A cheap round trip that succeeds when the dependency is back (PING). */
  probe: () => Promise<unknown>;
  /** Runs after a successful probe and before the dependency is used again; may throw. */
  onRecover?: () => Promise<void>;
  /** True while `onRecover` has more to do (work queued while it ran): it runs again. */
  needsRecovery?: () => boolean;
  /** Called for each failed operation (not for probes). */
  onError?: (error: unknown) => void;
  logger: Pick<LoggerService, 'log' | 'warn'>;
}

/**
 * Fail-open access to an optional dependency. While it is up, each operation gets `timeoutMs`;
 * the first failure takes it down (one warning per outage), after which operations return their
 * fallback at once, without touching it, and a probe every `retryIntervalMs` brings it back.
 */
export class CircuitBreaker {
  private current: CircuitState = 'down';
  private outageStartedAt = Date.now();
  private outageAnnounced = false;
  private probeTimer: NodeJS.Timeout | undefined;
  private probing: Promise<void> | undefined;

  constructor(private readonly options: CircuitBreakerOptions) {}

  get state(): CircuitState {
    return this.current;
  }

  get available(): boolean {
    return this.current === 'up';
  }

  /**
   * Probes once and keeps probing in the background until the dependency answers. Resolves
   * after the first probe, up or not: start-up does not wait for a dependency that is down.
   */
  async start(): Promise<void> {
    this.current = 'down';
    this.outageStartedAt = Date.now();
    this.scheduleProbes();
    await this.probeNow();
    if (this.current === 'down') {
      this.announceOutage('not reachable at start-up');
    }
  }

  stop(): void {
    this.current = 'stopped';
    clearInterval(this.probeTimer);
    this.probeTimer = undefined;
  }

  async run<T, F>(operation: () => Promise<T>, fallback: F): Promise<T | F> {
    if (this.current !== 'up') {
      return fallback;
    }
    try {
      return await withTimeout(operation(), this.options.timeoutMs);
    } catch (error) {
      this.options.onError?.(error);
      this.trip(error);
      return fallback;
    }
  }

  /** Takes the dependency down (if up) after a failure seen elsewhere, e.g. a client error event. */
  trip(reason: unknown): void {
    if (this.current !== 'up') {
      return;
    }
    this.current = 'down';
    this.outageStartedAt = Date.now();
    this.outageAnnounced = false;
    this.announceOutage(reason instanceof Error ? reason.message : String(reason));
    this.scheduleProbes();
  }

  /** Probes now (unless a probe is running); the dependency is up again if it answers. */
  probeNow(): Promise<void> {
    if (this.current !== 'down') {
      return Promise.resolve();
    }
    this.probing ??= this.probe().finally(() => {
      this.probing = undefined;
    });
    return this.probing;
  }

  private async probe(): Promise<void> {
    try {
      await withTimeout(this.options.probe(), this.options.timeoutMs);
      if (this.options.onRecover) {
        do {
          await withTimeout(this.options.onRecover(), RECOVERY_TIMEOUT_MS);
          // Checked in the same tick as the switch to up below: nothing can slip in between.
        } while (this.options.needsRecovery?.());
      }
    } catch {
      return;
    }
    if (this.current !== 'down') {
      return;
    }
    this.current = 'up';
    clearInterval(this.probeTimer);
    this.probeTimer = undefined;
    if (this.outageAnnounced) {
      const seconds = ((Date.now() - this.outageStartedAt) / 1000).toFixed(1);
      this.options.logger.log(`${this.options.name} is back after ${seconds} s`);
    }
    this.outageAnnounced = false;
  }

  private scheduleProbes(): void {
    if (this.probeTimer || this.current === 'stopped') {
      return;
    }
    this.probeTimer = setInterval(() => void this.probeNow(), this.options.retryIntervalMs);
    this.probeTimer.unref();
  }

  private announceOutage(reason: string): void {
    if (this.outageAnnounced) {
      return;
    }
    this.outageAnnounced = true;
    this.options.logger.warn(
      `${this.options.name} unavailable (${reason}): serving without it until it answers again`,
    );
  }
}
