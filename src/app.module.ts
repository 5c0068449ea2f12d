import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { AppConfig, ConfigModule } from '@config';
import { CacheModule } from '@libs/cache';
import { AccessTokenGuard } from '@app/auth/access-token.guard';
import { AuthModule } from '@app/auth/auth.module';
import { GlobalExceptionFilter } from '@app/common/errors/global-exception.filter';
import { createValidationPipe } from '@app/common/validation/validation.pipe';
import { DatabaseModule } from '@app/database/database.module';
import { HealthModule } from '@app/health/health.module';
import { LoggingModule } from '@app/logging/logging.module';
import { ThrottlingModule } from '@app/throttling/throttling.module';
import { UsersModule } from '@app/users/users.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule,
        DatabaseModule,
        // Before the auth guard, so that floods of unauthenticated requests are counted too.
        ThrottlingModule,
        CacheModule.forRoot(),
        AuthModule,
        UsersModule,
        HealthModule,
      ],
      providers: [
        { provide: APP_GUARD, useExisting: AccessTokenGuard },
        { provide: APP_PIPE, useFactory: createValidationPipe },
        { provide: APP_FILTER, useClass: GlobalExceptionFilter },
      ],
    };
  }
}
