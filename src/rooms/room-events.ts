import { Injectable, Logger } from '@nestjs/common';
import { Signal } from '@app/common/signal';

/** Someone lost access to a room: one user who left it, or everyone (`userId` null) when it was deleted. */
export interface RoomAccessRevoked {
  roomId: string;
  userId: string | null;
}

/** What happens to rooms, for other modules to act on (the gateway stops live delivery). */
@Injectable()
export class RoomEvents {
  readonly accessRevoked = new Signal<RoomAccessRevoked>(new Logger(RoomEvents.name));
}
