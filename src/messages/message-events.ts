import { Injectable, Logger } from '@nestjs/common';
import { Signal } from '@app/common/signal';
import type { DeliveryAudience } from '@app/rooms/room-sequence';
import { MessageResponseDto } from './messages.dto';

/**
 * The seam through which a committed message leaves the write path. `MessagesService` calls it
 * after the commit, once per stored message (a retry that finds its first message does not
 * publish again). The default delivers to this process's listeners; the realtime module's
 * MessageDelivery listens and publishes each message on the bus to every instance.
 * Implementations must not throw and must not block: the sender's ack waits for this call.
 */
export abstract class MessageEvents {
  /** `audience`: who gets the message live, as the write read it from the room. */
  abstract messageCommitted(message: MessageResponseDto, audience: DeliveryAudience): void;
}

/** A committed message and who gets it live. */
export interface CommittedMessage {
  message: MessageResponseDto;
  audience: DeliveryAudience;
}

export type MessageCommittedListener = (committed: CommittedMessage) => void;

/** The default `MessageEvents`: calls this process's listeners, one failing never the others. */
@Injectable()
export class InProcessMessageEvents extends MessageEvents {
  private readonly committed = new Signal<CommittedMessage>(
    new Logger(InProcessMessageEvents.name),
  );

  messageCommitted(message: MessageResponseDto, audience: DeliveryAudience): void {
    this.committed.emit({ message, audience });
  }

  /** Calls `listener` with every message committed from now on; returns the way to stop. */
  subscribe(listener: MessageCommittedListener): () => void {
    return this.committed.subscribe(listener);
  }
}
