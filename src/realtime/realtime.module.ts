import { Module } from '@nestjs/common';
import { AuthModule } from '@app/auth/auth.module';
import { ConnectionRegistry } from './connection-registry';
import { RealtimeGateway } from './realtime.gateway';
import { UpgradeAuthenticator } from './upgrade-authenticator';

@Module({
  imports: [AuthModule],
  providers: [RealtimeGateway, ConnectionRegistry, UpgradeAuthenticator],
  exports: [ConnectionRegistry, UpgradeAuthenticator],
})
export class RealtimeModule {}
