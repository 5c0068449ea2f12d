import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { RoomsModule } from '@app/rooms/rooms.module';
import { UsersModule } from '@app/users/users.module';
import { MessageChangesRepository } from './message-changes.repository';
import { MessageChangesService } from './message-changes.service';
import { InProcessMessageEvents, MessageEvents } from './message-events';
import { Message } from './message.entity';
import { MessagesController } from './messages.controller';
import { MessagesRepository } from './messages.repository';
import { MessagesService } from './messages.service';
import { StoredEntriesMetrics } from './stored-entries-metrics';

@Module({
  imports: [RoomsModule, UsersModule, TypeOrmModule.forFeature([Message])],
  controllers: [MessagesController],
  providers: [
    MessagesRepository,
    MessagesService,
    MessageChangesRepository,
    MessageChangesService,
    InProcessMessageEvents,
    StoredEntriesMetrics,
    // The seam: MessageDelivery (realtime) subscribes to it and publishes to every instance.
    { provide: MessageEvents, useExisting: InProcessMessageEvents },
  ],
  exports: [MessagesService, MessageChangesService, MessageEvents, InProcessMessageEvents],
})
export class MessagesModule {}
