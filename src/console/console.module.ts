import { Module } from '@nestjs/common';
import { MessagesModule } from '@app/messages/messages.module';
import { RealtimeModule } from '@app/realtime/realtime.module';
import { RoomsModule } from '@app/rooms/rooms.module';
import { UsersModule } from '@app/users/users.module';
import { ConsoleFleetModule } from './console-fleet.module';
import { ConsoleController } from './console.controller';
import { ConsoleService } from './console.service';

/** The operator console's routes and actions (CONSOLE_USERS); the page is ConsolePageModule's. */
@Module({
  imports: [ConsoleFleetModule, RealtimeModule, RoomsModule, MessagesModule, UsersModule],
  controllers: [ConsoleController],
  providers: [ConsoleService],
})
export class ConsoleModule {}
