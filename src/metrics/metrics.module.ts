import { Global, Module } from '@nestjs/common';
import { CacheMetricsExporter } from './cache-metrics.exporter';
import { HttpMetrics } from './http-metrics';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';

/** Global: any feature may inject MetricsService to declare its own counters. */
@Global()
@Module({
  controllers: [MetricsController],
  providers: [MetricsService, HttpMetrics, CacheMetricsExporter],
  exports: [MetricsService],
})
export class MetricsModule {}
