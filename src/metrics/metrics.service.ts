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

  constructor() {
    // Process metrics: CPU, memory, heap, GC and event-loop delay (nodejs_eventloop_lag_*).
    registerProcessMetrics(this.registry);
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
