import { parsePrometheusText, PrometheusSample } from '@test/support/prometheus-text';
import { ServerProcess } from '@test/support/server-process';
import { sleep } from '@test/support/wait-until';

export type RunPhase = 'open' | 'steady' | 'kill';

/** How a load balancer would see one instance in one phase. */
export interface ReadinessTally {
  polls: number;
  failed: number;
  /** Answered 200 but listed a dependency as degraded (Redis away: the breaker open). */
  degraded: number;
  firstFailure?: string;
}

export interface InstanceWatch {
  readiness: Record<RunPhase, ReadinessTally>;
  /** The longest event-loop stall seen by prom-client between two scrapes, ms. */
  maxEventLoopStallMs: Record<RunPhase, number>;
  /** How long a `/metrics` scrape took at most, ms. */
  maxScrapeMs: number;
  scrapes: number;
}

/** Readiness every second, a balancer's timeout. */
const READY_INTERVAL_MS = 1000;
const READY_TIMEOUT_MS = 2000;
/** Metrics as Prometheus would scrape them (prom-client's lag maximum is per scrape interval). */
const SCRAPE_INTERVAL_MS = 10_000;
const SCRAPE_TIMEOUT_MS = 5000;
/** The breaker opening, as RedisConnection logs it (warn). */
const BREAKER_OPENED = /^Redis at .* unavailable \(/;

/**
 * Watches each instance the way a load balancer and Prometheus would while the suite runs:
 * `/health/ready` every second (2 s timeout), `/metrics` every 10 s, on each instance's probe port
 * (HEALTH_PORT), where a balancer would probe. Stops watching an instance once the suite kills it.
 */
export class FleetMonitor {
  private phase: RunPhase = 'open';
  /** When each phase began (epoch ms), to place logged events in their phase. */
  private readonly phaseStarts: { phase: RunPhase; at: number }[] = [
    { phase: 'open', at: Date.now() },
  ];
  private running = true;
  private readonly watches: InstanceWatch[];
  private readonly stopped = new Set<number>();
  private readonly loops: Promise<void>[] = [];

  constructor(
    private readonly instances: readonly ServerProcess[],
    /** `http://127.0.0.1:<HEALTH_PORT>` of each instance. */
    private readonly probeUrls: readonly string[],
  ) {
    const byPhase = <T>(make: () => T): Record<RunPhase, T> => ({
      open: make(),
      steady: make(),
      kill: make(),
    });
    this.watches = instances.map(() => ({
      readiness: byPhase<ReadinessTally>(() => ({ polls: 0, failed: 0, degraded: 0 })),
      maxEventLoopStallMs: byPhase(() => Number.NaN),
      maxScrapeMs: 0,
      scrapes: 0,
    }));
    instances.forEach((_, index) => {
      this.loops.push(this.every(index, READY_INTERVAL_MS, () => this.pollReadiness(index)));
      this.loops.push(this.every(index, SCRAPE_INTERVAL_MS, () => this.scrape(index)));
    });
  }

  enter(phase: RunPhase): void {
    this.phase = phase;
    this.phaseStarts.push({ phase, at: Date.now() });
  }

  /** The instance is being killed: it is no longer a healthy instance to watch. */
  forget(index: number): void {
    this.stopped.add(index);
  }

  /** One scrape of an instance's metrics now (for counters read before and after a phase). */
  async metrics(index: number): Promise<PrometheusSample[]> {
    const response = await fetch(`${this.probeUrls[index]}/metrics`, {
      signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS),
    });
    return parsePrometheusText(await response.text());
  }

  /** Breaker openings the instance logged so far, by the phase they happened in. */
  breakerOpenings(index: number): Record<RunPhase, number> {
    const openings: Record<RunPhase, number> = { open: 0, steady: 0, kill: 0 };
    for (const line of this.instances[index].logLines()) {
      if (typeof line.msg === 'string' && BREAKER_OPENED.test(line.msg)) {
        // pino's `time`: epoch ms.
        const at = Number(line.time ?? 0);
        const phase = this.phaseStarts.filter((start) => start.at <= at).at(-1)?.phase ?? 'open';
        openings[phase]++;
      }
    }
    return openings;
  }

  async stop(): Promise<InstanceWatch[]> {
    this.running = false;
    await Promise.all(this.loops);
    return this.watches;
  }

  private async every(index: number, intervalMs: number, work: () => Promise<void>) {
    while (this.running && !this.stopped.has(index)) {
      const startedAt = Date.now();
      await work();
      await sleep(Math.max(0, intervalMs - (Date.now() - startedAt)));
    }
  }

  private async pollReadiness(index: number): Promise<void> {
    const phase = this.phase;
    let failure: string | undefined;
    let degraded = false;
    try {
      const response = await fetch(`${this.probeUrls[index]}/health/ready`, {
        signal: AbortSignal.timeout(READY_TIMEOUT_MS),
      });
      const body = (await response.json()) as { degraded?: string[] };
      degraded = (body.degraded?.length ?? 0) > 0;
      if (response.status !== 200) {
        failure = `${response.status} ${JSON.stringify(body)}`;
      }
    } catch (error) {
      failure = (error as Error).message;
    }
    if (this.stopped.has(index)) {
      // Killed while the poll was in flight: not a failure of a healthy instance.
      return;
    }
    const tally = this.watches[index].readiness[phase];
    tally.polls++;
    tally.degraded += degraded ? 1 : 0;
    if (failure !== undefined) {
      tally.failed++;
      tally.firstFailure ??= `${new Date().toISOString()} ${failure}`.slice(0, 300);
    }
  }

  private async scrape(index: number): Promise<void> {
    const phase = this.phase;
    const startedAt = performance.now();
    try {
      const samples = await this.metrics(index);
      const watch = this.watches[index];
      watch.maxScrapeMs = Math.max(watch.maxScrapeMs, performance.now() - startedAt);
      watch.scrapes++;
      const lag = samples.find((sample) => sample.name === 'nodejs_eventloop_lag_max_seconds');
      if (lag && Number.isFinite(lag.value)) {
        const seen = watch.maxEventLoopStallMs[phase];
        // NaN until a scrape had the gauge: a missing metric is not a stall of 0.
        watch.maxEventLoopStallMs[phase] = Number.isNaN(seen)
          ? lag.value * 1000
          : Math.max(seen, lag.value * 1000);
      }
    } catch {
      // A scrape that fails is seen in readiness too; nothing to add here.
    }
  }
}
