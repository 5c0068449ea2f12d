import { Injectable, Logger } from '@nestjs/common';
import { Signal } from '@app/common/signal';
import { MessageResponseDto } from './messages.dto';

/**
 * The seam through which a committed message leaves the write path. `MessagesService` calls it
 * after the commit, once per stored message (a retry that finds its first message does not
 * publish again). The default delivers to this process's listeners; the realtime module's
 * MessageDelivery listens and publishes each message on the bus to every instance.
 * Implementations must not throw and must not block: the sender's ack waits for this call.
 */
export abstract class MessageEvents {
  abstract messageCommitted(message: MessageResponseDto): void;
}

export type MessageCommittedListener = (message: MessageResponseDto) => void;

/** The default `MessageEvents`: calls this process's listeners, one failing never the others. */
@Injectable()
export class InProcessMessageEvents extends MessageEvents {
  private readonly committed = new Signal<MessageResponseDto>(
    new Logger(InProcessMessageEvents.name),
  );

  messageCommitted(message: MessageResponseDto): void {
    this.committed.emit(message);
  }

  /** Calls `listener` with every message committed from now on; returns the way to stop. */
  subscribe(listener: MessageCommittedListener): () => void {
    return this.committed.subscribe(listener);
  }
}
