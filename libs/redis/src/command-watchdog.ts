import { performance } from 'node:perf_hooks';
import Redis, { Command, RedisOptions } from 'ioredis';

/** The error of a command Redis did not answer in time, as ioredis's own timeout words it. */
export const COMMAND_TIMED_OUT = 'Command timed out';

interface Watched {
  command: Command;
  /** The watchdog's loop time when the command was sent. */
  sentAt: number;
}

/**
 * One command timeout for every command of a `RedisConnection`, counted in time the event loop
 * was free to read the reply. ioredis's `commandTimeout` arms one timer per command: after a
 * stall of our own process (a big fan-out, a GC) those timers run before the loop reads the
 * replies waiting in the socket, and commands Redis had answered fail, opening the breaker.
 *
 * Here one ticker advances a clock by the time between ticks, but by at most two tick intervals:
 * a tick that comes later than that shows a busy loop, and the rest of the gap is not Redis's.
 * A command whose budget is spent is failed in the check phase, after the poll phase has read
 * whatever reply had arrived. A Redis that does not answer (hung, lost network) still fails
 * commands after `timeoutMs` of loop time.
 */
export class CommandWatchdog {
  private readonly tickMs: number;
  private readonly maxCreditMs: number;
  /** Commands in the order they were sent: with one budget, the oldest expires first. */
  private queue: Watched[] = [];
  private head = 0;
  private ticker: NodeJS.Timeout | undefined;
  private loopTime = 0;
  private lastTickAt = 0;

  constructor(private readonly timeoutMs: number) {
    this.tickMs = Math.min(50, Math.max(5, Math.round(timeoutMs / 10)));
    this.maxCreditMs = 2 * this.tickMs;
  }

  /** How many commands it still watches (answered ones leave at the next tick). */
  get watching(): number {
    return this.queue.length - this.head;
  }

  watch(command: Command): void {
    if (command.isResolved) {
      return;
    }
    if (!this.ticker) {
      this.lastTickAt = performance.now();
      this.ticker = setInterval(() => this.tick(), this.tickMs);
      // Never what keeps a process alive.
      this.ticker.unref();
    }
    this.queue.push({ command, sentAt: this.now() });
  }

  /** Stops watching (the connection is closed; ioredis fails what was in flight). */
  stop(): void {
    clearInterval(this.ticker);
    this.ticker = undefined;
    this.queue = [];
    this.head = 0;
  }

  /** Loop time up to this moment, the gap since the last tick credited up to the same cap. */
  private now(): number {
    return this.loopTime + Math.min(performance.now() - this.lastTickAt, this.maxCreditMs);
  }

  private tick(): void {
    this.loopTime = this.now();
    this.lastTickAt = performance.now();
    const expired: Command[] = [];
    while (this.head < this.queue.length) {
      const { command, sentAt } = this.queue[this.head];
      if (!command.isResolved && this.loopTime - sentAt < this.timeoutMs) {
        break;
      }
      if (!command.isResolved) {
        expired.push(command);
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
      // After the poll phase: a reply that is already in the socket buffer still counts.
      setImmediate(() => {
        for (const command of expired) {
          if (!command.isResolved) {
            command.reject(new Error(COMMAND_TIMED_OUT));
          }
        }
      });
    }
  }
}

/** An ioredis client whose commands are timed by a `CommandWatchdog` instead of a timer each. */
export class WatchedRedis extends Redis {
  constructor(
    url: string,
    options: RedisOptions,
    private readonly watchdog: CommandWatchdog,
  ) {
    super(url, { ...options, commandTimeout: undefined });
  }

  override sendCommand(...args: Parameters<Redis['sendCommand']>): unknown {
    const sent = super.sendCommand(...args);
    this.watchdog.watch(args[0]);
    return sent;
  }
}
