import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { UsersModule } from '@app/users/users.module';
import { ReadPositionsRepository } from './read-positions.repository';
import { ReadPositionsService } from './read-positions.service';
import { RoomBan } from './room-ban.entity';
import { RoomBansRepository } from './room-bans.repository';
import { RoomCache } from './room-cache';
import { RoomEvents } from './room-events';
import { RoomSequence } from './room-sequence';
import { RoomMember } from './room-member.entity';
import { RoomModerationController } from './room-moderation.controller';
import { RoomModerationService } from './room-moderation.service';
import { Room } from './room.entity';
import { RoomsController } from './rooms.controller';
import { RoomsRepository } from './rooms.repository';
import { RoomsService } from './rooms.service';

@Module({
  imports: [UsersModule, TypeOrmModule.forFeature([Room, RoomMember, RoomBan])],
  controllers: [RoomsController, RoomModerationController],
  providers: [
    RoomsRepository,
    RoomBansRepository,
    RoomsService,
    RoomModerationService,
    RoomEvents,
    RoomCache,
    RoomSequence,
    ReadPositionsRepository,
    ReadPositionsService,
  ],
  exports: [
    RoomsService,
    RoomModerationService,
    RoomEvents,
    RoomCache,
    RoomSequence,
    ReadPositionsService,
  ],
})
export class RoomsModule {}
