import { Module } from '@nestjs/common';
import { AuthModule } from '@app/auth/auth.module';
import { ConnectionRegistry } from './connection-registry';
import { RealtimeFanout } from './realtime-fanout';
import { RealtimeGateway } from './realtime.gateway';
import { UpgradeAuthenticator } from './upgrade-authenticator';

@Module({
  imports: [AuthModule],
  providers: [RealtimeGateway, ConnectionRegistry, UpgradeAuthenticator, RealtimeFanout],
  exports: [RealtimeFanout],
})
export class RealtimeModule {}
