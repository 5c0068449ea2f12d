import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@config';
import { CommitMetrics } from './commit-metrics';
import { DatabaseWriter } from './database-writer';
import { dataSourceOptions } from './data-source-options';
import { runMigrations } from './run-migrations';

@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => dataSourceOptions(config.database),
      dataSourceFactory: async (options) => {
        const dataSource = await new DataSource(options!).initialize();
        await runMigrations(dataSource);
        return dataSource;
      },
    }),
  ],
  // Global: the writes of users, auth, rooms and messages all queue on the same one.
  providers: [DatabaseWriter, CommitMetrics],
  exports: [DatabaseWriter],
})
export class DatabaseModule {}
