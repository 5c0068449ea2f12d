import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { APP_CONFIG, AppConfig } from '@config';
import { withinLoopTime } from '@libs/redis';
import { PostgresProbe } from './postgres-probe';

/** How long the database gets to answer the probe, in event-loop time (a stall is not its fault). */
const DATABASE_PROBE_TIMEOUT_MS = 1000;

/**
 * The database, for readiness: down when it does not answer (or the application's DataSource is
 * closed), up otherwise. On PostgreSQL the probe has a connection of its own, so a pool whose
 * every connection is held by application queries reads as up and `busy`, not as down: a
 * balancer must not take a busy instance out of service while the database sits idle.
 */
@Injectable()
export class DatabaseHealthIndicator implements OnApplicationShutdown {
  private readonly probe: PostgresProbe | undefined;

  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.probe =
      config.database.type === 'postgres'
        ? new PostgresProbe(config.database.url, DATABASE_PROBE_TIMEOUT_MS)
        : undefined;
  }

  async check(key: string): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check(key);
    if (!this.dataSource.isInitialized) {
      return indicator.down({ message: 'the database connection is closed' });
    }
    try {
      if (this.probe) {
        await this.probe.ping();
        return indicator.up({ busy: this.poolIsBusy() });
      }
      // SQLite: in process and synchronous, there is no pool to wait for.
      await withinLoopTime(
        this.dataSource.query('SELECT 1'),
        DATABASE_PROBE_TIMEOUT_MS,
        () => new Error(`no answer within ${DATABASE_PROBE_TIMEOUT_MS} ms`),
      );
      return indicator.up();
    } catch (error) {
      return indicator.down({ message: error instanceof Error ? error.message : String(error) });
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.probe?.close();
  }

  /** Application queries wait for a pooled connection. */
  private poolIsBusy(): boolean {
    const pool = (this.dataSource.driver as PostgresDriver).master as Pool | undefined;
    return (pool?.waitingCount ?? 0) > 0;
  }
}
