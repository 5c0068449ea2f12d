import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleDestroy,
} from '@nestjs/common';
import Ajv from 'ajv';
import { BusMessage, MessageBus, Unsubscribe } from '@libs/bus';
import {
  FleetView,
  InstanceFigures,
  MAX_FLEET_INSTANCES,
  SERVER_EVENT_SCHEMAS,
} from '@libs/protocol';
import { APP_CONFIG, AppConfig } from '@config';
import { MetricsService } from '@app/metrics/metrics.service';
import { ConsoleOperators } from './console-operators';
import { InstanceIdentity, instanceFigures } from './instance-figures';
import { MetricReading } from './metric-reading';

/** Where every instance publishes its figures. */
export const FIGURES_CHANNEL = 'console:figures';
/** Reports missed before an instance is shown stale, and before it is dropped from the view. */
const STALE_AFTER_REPORTS = 3;
const DROPPED_AFTER_REPORTS = 10;
/** Reports that arrive together (one per instance) make one `fleet` frame. */
const NOTIFY_COALESCE_MS = 50;

// A report from another release may carry what this one does not know: ignored and counted.
const isInstanceFigures = new Ajv({
  strict: false,
  validateFormats: false,
}).compile<InstanceFigures>(
  (SERVER_EVENT_SCHEMAS.fleet.data.properties as { instances: { items: object } }).instances.items,
);

/** Called with each new view; answers false when it wants no more (its connection closed). */
export type FleetWatcher = (view: FleetView) => boolean;

interface Report {
  figures: InstanceFigures;
  receivedAt: number;
}

/**
 * The fleet as the console shows it. While the console is on, each instance reads its own
 * metrics every CONSOLE_REPORT_INTERVAL_MS and publishes the figures on the bus; every instance
 * keeps the latest report of each, so any one of them can show the whole fleet. Its own report is
 * kept without the bus, so that an instance cut off from Redis still shows itself.
 */
@Injectable()
export class FleetFigures implements OnApplicationBootstrap, OnModuleDestroy {
  readonly identity: InstanceIdentity = {
    instanceId: `${hostname()}:${process.pid}:${randomBytes(2).toString('hex')}`,
    host: hostname(),
    pid: process.pid,
    startedAt: new Date().toISOString(),
  };
  private readonly logger = new Logger(FleetFigures.name);
  private readonly intervalMs: number;
  private readonly reports = new Map<string, Report>();
  private readonly watchers = new Set<FleetWatcher>();
  private unreadableReports = 0;
  private previous: MetricReading | undefined;
  private timer: NodeJS.Timeout | undefined;
  private notifyTimer: NodeJS.Timeout | undefined;
  private unsubscribe: Unsubscribe | undefined;

  constructor(
    private readonly metrics: MetricsService,
    private readonly bus: MessageBus,
    private readonly operators: ConsoleOperators,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.intervalMs = config.console.reportIntervalMs;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.operators.enabled) {
      return;
    }
    this.unsubscribe = await this.bus.subscribe(FIGURES_CHANNEL, (message) =>
      this.received(message),
    );
    await this.report();
    this.timer = setInterval(() => void this.report(), this.intervalMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
    clearTimeout(this.notifyTimer);
    this.unsubscribe?.();
    this.watchers.clear();
  }

  /** Every instance heard from lately; one missing its last reports is marked `stale`. */
  view(now = Date.now()): FleetView {
    const instances: InstanceFigures[] = [];
    for (const [instanceId, { figures, receivedAt }] of this.reports) {
      const silentFor = now - receivedAt;
      if (silentFor > DROPPED_AFTER_REPORTS * this.intervalMs) {
        this.reports.delete(instanceId);
      } else {
        instances.push({ ...figures, stale: silentFor > STALE_AFTER_REPORTS * this.intervalMs });
      }
    }
    instances.sort((a, b) => a.instanceId.localeCompare(b.instanceId));
    return { generatedAt: new Date(now).toISOString(), instances };
  }

  /** The instances expected to answer a fleet query: those not stale. */
  liveInstances(): string[] {
    return this.view()
      .instances.filter((instance) => !instance.stale)
      .map((instance) => instance.instanceId);
  }

  /** `watcher` gets the view after each report until it answers false; returns what stops it. */
  watch(watcher: FleetWatcher): () => void {
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  get reportsUnreadable(): number {
    return this.unreadableReports;
  }

  private async report(): Promise<void> {
    try {
      const reading = await MetricReading.of(this.metrics.registry);
      const figures = instanceFigures(this.identity, reading, this.previous);
      this.previous = reading;
      this.accept(figures);
      await this.bus.publish(FIGURES_CHANNEL, figures);
    } catch (error) {
      // Redis away: the other instances miss this report and show this one stale meanwhile.
      this.logger.debug(`The console report was not published: ${(error as Error).message}`);
    }
  }

  private received(message: BusMessage): void {
    let figures: unknown;
    try {
      figures = message.json();
    } catch {
      figures = undefined;
    }
    if (!isInstanceFigures(figures)) {
      this.unreadableReports += 1;
      return;
    }
    if (figures.instanceId === this.identity.instanceId) {
      return;
    }
    if (!this.reports.has(figures.instanceId) && this.reports.size >= MAX_FLEET_INSTANCES) {
      this.unreadableReports += 1;
      return;
    }
    this.accept(figures);
  }

  private accept(figures: InstanceFigures): void {
    this.reports.set(figures.instanceId, { figures, receivedAt: Date.now() });
    this.notifyTimer ??= setTimeout(() => this.notify(), NOTIFY_COALESCE_MS);
  }

  private notify(): void {
    this.notifyTimer = undefined;
    if (this.watchers.size === 0) {
      return;
    }
    const view = this.view();
    for (const watcher of this.watchers) {
      if (!watcher(view)) {
        this.watchers.delete(watcher);
      }
    }
  }
}
