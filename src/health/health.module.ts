import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { BusHealthIndicator } from './bus-health.indicator';
import { CacheHealthIndicator } from './cache-health.indicator';
import { HealthController } from './health.controller';
import { LivenessBeforeRouting } from './liveness-before-routing';

@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [BusHealthIndicator, CacheHealthIndicator, LivenessBeforeRouting],
})
export class HealthModule {}
