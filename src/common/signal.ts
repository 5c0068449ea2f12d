import { Logger } from '@nestjs/common';

/**
 * In-process notifications of one kind: listeners subscribe, `emit` calls each of them in turn;
 * one failing listener is logged and never stops the others or the emitter.
 */
export class Signal<T> {
  private readonly listeners = new Set<(value: T) => void>();

  constructor(private readonly logger: Logger) {}

  /** Calls `listener` with every value emitted from now on; returns the way to stop. */
  subscribe(listener: (value: T) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(value: T): void {
    for (const listener of this.listeners) {
      try {
        listener(value);
      } catch (error) {
        this.logger.error(error instanceof Error ? error : String(error));
      }
    }
  }
}
