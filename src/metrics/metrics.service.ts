import { Injectable } from '@nestjs/common';
import {
  Counter,
  CounterConfiguration,
  Gauge,
  GaugeConfiguration,
  Histogram,
  HistogramConfiguration,
  Registry,
} from 'prom-client';
import { registerProcessMetrics } from './process-metrics';

const PREFIX = 'switchboard_';

/**
 * The one Prometheus registry of this process (a registry per app, not prom-client's global one,
 * so that several apps in one test process do not collide). Features create their metrics here.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  /** Sizes of in-memory structures, by name: `switchboard_ws_registry_entries{registry}`. */
  private readonly registrySizes = new Map<string, () => number>();

  constructor() {
    // Process metrics: CPU, memory, heap, GC and event-loop delay (nodejs_eventloop_lag_*).
    registerProcessMetrics(this.registry);
    const sizes = this.registrySizes;
    this.gauge({
      name: 'ws_registry_entries',
      help: 'Entries of the per-connection and per-room in-memory structures, by structure: a leak per connection shows as one that only grows',
      labelNames: ['registry'],
      collect() {
        this.reset();
        for (const [registry, size] of sizes) {
          this.set({ registry }, size());
        }
      },
    });
  }

  /**
   * Reports `size()` (read at scrape time, so keep it cheap) as
   * `switchboard_ws_registry_entries{registry}`.
   */
  registryEntries(registry: string, size: () => number): void {
    this.registrySizes.set(registry, size);
  }

  counter<T extends string>(configuration: CounterConfiguration<T>): Counter<T> {
    return new Counter({
      ...configuration,
      name: PREFIX + configuration.name,
      registers: [this.registry],
    });
  }

  gauge<T extends string>(configuration: GaugeConfiguration<T>): Gauge<T> {
    return new Gauge({
      ...configuration,
      name: PREFIX + configuration.name,
      registers: [this.registry],
    });
  }

  histogram<T extends string>(configuration: HistogramConfiguration<T>): Histogram<T> {
    return new Histogram({
      ...configuration,
      name: PREFIX + configuration.name,
      registers: [this.registry],
    });
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
