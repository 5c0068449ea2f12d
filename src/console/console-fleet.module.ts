import { Module } from '@nestjs/common';
import { UsersModule } from '@app/users/users.module';
import { ConsoleOperators } from './console-operators';
import { FleetFigures } from './fleet-figures';
import { FleetQueries } from './fleet-queries';

/**
 * The console's view of the fleet and who may see it: needed by the gateway (`watchFleet`) and by
 * the console's routes, so it depends on neither.
 */
@Module({
  imports: [UsersModule],
  providers: [ConsoleOperators, FleetFigures, FleetQueries],
  exports: [ConsoleOperators, FleetFigures, FleetQueries],
})
export class ConsoleFleetModule {}
