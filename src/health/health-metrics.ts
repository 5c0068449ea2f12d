import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { REDIS_CONNECTION, RedisConnection } from '@libs/redis';
import { MetricsService } from '@app/metrics/metrics.service';
import { INSTANCE_STATES, instanceStateOf, Readiness } from './readiness';

/**
 * The instance's state and its dependencies', read at scrape time: `switchboard_instance_state`
 * from the very evaluation `/health/ready` answers with (one per scrape, its database probe on
 * a connection of its own and bounded to a second, so a scrape never queues behind a busy pool),
 * `switchboard_dependency_up` and, with Redis, `switchboard_redis_breaker_open`.
 */
@Injectable()
export class HealthMetrics implements OnModuleInit {
  constructor(
    private readonly readiness: Readiness,
    private readonly metrics: MetricsService,
    @Inject(REDIS_CONNECTION) private readonly redis: RedisConnection | null,
  ) {}

  onModuleInit(): void {
    const readiness = this.readiness;
    const redis = this.redis;
    this.metrics.gauge({
      name: 'instance_state',
      help: 'The instance state as /health/ready evaluates it: 1 for the current state, 0 for the others',
      labelNames: ['state'],
      async collect() {
        const state = instanceStateOf(await readiness.evaluateShared());
        for (const candidate of INSTANCE_STATES) {
          this.set({ state: candidate }, candidate === state ? 1 : 0);
        }
      },
    });
    this.metrics.gauge({
      name: 'dependency_up',
      help: 'Whether a dependency answers: the database as /health/ready probes it; Redis connected with its circuit closed',
      labelNames: ['dependency'],
      async collect() {
        const { result } = await readiness.evaluateShared();
        // While draining readiness probes nothing: the database counts as up until it says not.
        const database = result.details.database?.status ?? 'up';
        this.set({ dependency: 'database' }, database === 'up' ? 1 : 0);
        if (redis) {
          this.set({ dependency: 'redis' }, redis.available ? 1 : 0);
        }
      },
    });
    if (redis) {
      this.metrics.gauge({
        name: 'redis_breaker_open',
        help: '1 while the Redis circuit breaker is open (commands refused at once until a probe answers)',
        collect() {
          this.set(redis.breakerOpen ? 1 : 0);
        },
      });
    }
  }
}
