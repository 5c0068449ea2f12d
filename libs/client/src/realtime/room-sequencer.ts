import { RealtimeMessage } from '@libs/protocol';

/**
 * One room's messages, handed on exactly once and in `seq` order, whichever way they came (live,
 * a `sync` page, twice, out of order). Until its starting point is known (`startAt`), messages
 * are held. A message past the next expected one is held too, and `hasGap()` tells the client to
 * `sync` the missing ones.
 */
export class RoomSequencer {
  private delivered: number | undefined;
  private readonly held = new Map<number, RealtimeMessage>();

  constructor(private readonly deliver: (message: RealtimeMessage) => void) {}

  /** The last `seq` handed on; undefined until the starting point is known. */
  get position(): number | undefined {
    return this.delivered;
  }

  /** Messages up to `seq` are not this client's business (they came before it joined). */
  startAt(seq: number): void {
    if (this.delivered === undefined) {
      this.delivered = seq;
      this.release();
    }
  }

  offer(message: RealtimeMessage): void {
    if (this.delivered !== undefined && message.seq <= this.delivered) {
      return;
    }
    this.held.set(message.seq, message);
    this.release();
  }

  /** Messages are held past a missing one: a `sync` from `position` fills the gap. */
  hasGap(): boolean {
    return this.delivered !== undefined && this.held.size > 0;
  }

  private release(): void {
    if (this.delivered === undefined) {
      return;
    }
    for (const seq of this.held.keys()) {
      if (seq <= this.delivered) {
        this.held.delete(seq);
      }
    }
    for (let next = this.held.get(this.delivered + 1); next; next = this.held.get(next.seq + 1)) {
      this.held.delete(next.seq);
      this.delivered = next.seq;
      this.deliver(next);
    }
  }
}
