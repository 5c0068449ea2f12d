import { Injectable } from '@nestjs/common';
import { ConnectionRegistry } from './connection-registry';
import { LocalPresence } from './presence-store';

/**
 * Presence as this instance's registry has it, with nothing kept beside it: which (room, user)
 * pairs its connections hold, read from the connections themselves.
 */
@Injectable()
export class RegistryPresence implements LocalPresence {
  constructor(private readonly registry: ConnectionRegistry) {}

  /** How many of the user's connections here are in the room. */
  connectionsIn(roomId: string, userId: string): number {
    let count = 0;
    for (const connection of this.registry.connectionsOf(userId)) {
      if (connection.rooms.has(roomId)) {
        count += 1;
      }
    }
    return count;
  }

  holds(roomId: string, userId: string): boolean {
    return this.connectionsIn(roomId, userId) > 0;
  }

  *pairs(): Iterable<readonly [string, string]> {
    for (const connection of this.registry.all()) {
      for (const roomId of connection.rooms) {
        yield [roomId, connection.user.id] as const;
      }
    }
  }
}
