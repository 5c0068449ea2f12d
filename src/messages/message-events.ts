import { Injectable, Logger } from '@nestjs/common';
import { MessageResponseDto } from './messages.dto';

/**
 * The seam through which a committed message leaves the write path. `MessagesService` calls it
 * after the commit, once per stored message (a retry that finds its first message does not
 * publish again). Inject `MessageEvents`; the default delivers in this process only, and the
 * bus replaces it (`{ provide: MessageEvents, useClass: … }`) to reach every instance.
 * Implementations must not throw and must not block: the sender's ack waits for this call.
 */
export abstract class MessageEvents {
  abstract messageCommitted(message: MessageResponseDto): void;
}

export type MessageCommittedListener = (message: MessageResponseDto) => void;

/** The default `MessageEvents`: calls this process's listeners, one failing never the others. */
@Injectable()
export class InProcessMessageEvents extends MessageEvents {
  private readonly logger = new Logger(InProcessMessageEvents.name);
  private readonly listeners = new Set<MessageCommittedListener>();

  messageCommitted(message: MessageResponseDto): void {
    for (const listener of this.listeners) {
      try {
        listener(message);
      } catch (error) {
        this.logger.error(error instanceof Error ? error : String(error));
      }
    }
  }

  /** Calls `listener` with every message committed from now on; returns the way to stop. */
  subscribe(listener: MessageCommittedListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
