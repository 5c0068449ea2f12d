import { Module } from '@nestjs/common';
import { ConsolePageController } from './console-page.controller';

/** The operator console's page; its data comes from ConsoleModule's routes and the socket. */
@Module({ controllers: [ConsolePageController] })
export class ConsolePageModule {}
