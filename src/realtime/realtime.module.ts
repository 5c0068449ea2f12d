import { Module } from '@nestjs/common';
import { REDIS_CONNECTION, RedisConnection } from '@libs/redis';
import { APP_CONFIG, AppConfig } from '@config';
import { AuthModule } from '@app/auth/auth.module';
import { MessagesModule } from '@app/messages/messages.module';
import { RoomsModule } from '@app/rooms/rooms.module';
import { BusReturnConvergence } from './bus-return-convergence';
import { ConnectionRegistry } from './connection-registry';
import { EndedLoginCloser } from './ended-login-closer';
import { FleetRelay } from './fleet-relay';
import { LiveSeqGapTracker } from './live-seq-gap-tracker';
import { LocalFanout } from './local-fanout';
import { MessageDelivery } from './message-delivery';
import {
  InMemoryPresenceStore,
  PRESENCE_HEARTBEAT_INTERVAL_MS,
  PresenceStore,
  RedisPresenceStore,
} from './presence-store';
import { PresenceService } from './presence.service';
import { RealtimeMetrics } from './realtime-metrics';
import { RealtimeSessions } from './realtime-sessions';
import { RegistryPresence } from './registry-presence';
import { RealtimeGateway } from './realtime.gateway';
import { RoomAccessRevocation } from './room-access-revocation';
import { TypingIndicators } from './typing-indicators';
import { UpgradeAuthenticator } from './upgrade-authenticator';
import { WsFastPath } from './ws-fast-path';

@Module({
  imports: [AuthModule, RoomsModule, MessagesModule],
  providers: [
    RealtimeGateway,
    ConnectionRegistry,
    RealtimeSessions,
    LocalFanout,
    FleetRelay,
    MessageDelivery,
    LiveSeqGapTracker,
    RoomAccessRevocation,
    TypingIndicators,
    PresenceService,
    RegistryPresence,
    EndedLoginCloser,
    BusReturnConvergence,
    UpgradeAuthenticator,
    RealtimeMetrics,
    WsFastPath,
    {
      provide: PresenceStore,
      inject: [REDIS_CONNECTION, ConnectionRegistry, RegistryPresence, APP_CONFIG],
      useFactory: (
        redis: RedisConnection | null,
        registry: ConnectionRegistry,
        local: RegistryPresence,
        config: AppConfig,
      ) =>
        redis
          ? new RedisPresenceStore(redis, registry.instanceId, local, {
              heartbeatIntervalMs: PRESENCE_HEARTBEAT_INTERVAL_MS,
              instanceTtlMs: config.presence.instanceTtlMs,
            })
          : new InMemoryPresenceStore(),
    },
  ],
})
export class RealtimeModule {}
