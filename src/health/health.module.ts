import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { BusHealthIndicator } from './bus-health.indicator';
import { CacheHealthIndicator } from './cache-health.indicator';
import { DatabaseHealthIndicator } from './database-health.indicator';
import { DrainState } from './drain-state';
import { HealthMetrics } from './health-metrics';
import { HealthController } from './health.controller';
import { LivenessBeforeRouting } from './liveness-before-routing';
import { Readiness } from './readiness';

@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [
    BusHealthIndicator,
    CacheHealthIndicator,
    DatabaseHealthIndicator,
    DrainState,
    HealthMetrics,
    LivenessBeforeRouting,
    Readiness,
  ],
  exports: [DrainState],
})
export class HealthModule {}
