import { Injectable, Logger } from '@nestjs/common';
import { Signal } from '@app/common/signal';
import type { DeliveryAudience } from './room-sequence';

/** Someone lost access to a room: one user who left it, or everyone (`userId` null) when it was deleted. */
export interface RoomAccessRevoked {
  roomId: string;
  userId: string | null;
}

/** A member's read position moved forward: the room's members hear of it. */
export interface ReadPositionMoved {
  roomId: string;
  userId: string;
  seq: number;
  /** Who gets it live: the room's connections, or both users of a direct room. */
  audience: DeliveryAudience;
}

/** What happens to rooms, for other modules to act on (the gateway stops live delivery). */
@Injectable()
export class RoomEvents {
  readonly accessRevoked = new Signal<RoomAccessRevoked>(new Logger(RoomEvents.name));
  readonly readPositionMoved = new Signal<ReadPositionMoved>(new Logger(RoomEvents.name));
}
