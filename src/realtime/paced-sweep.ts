/** A live collection the sweep walks: a Map's or a Set's values, as they are when it gets there. */
export interface SweptCollection<T> {
  readonly size: number;
  values(): IterableIterator<T>;
}

/** How often a sweep takes its next slice, unless its interval is shorter. */
export const SWEEP_TICK_MS = 200;

/**
 * Visits every item of a collection once per interval, a slice per tick, instead of all of them in
 * one turn of the event loop (15,000 socket pings are ~0.7 s of work). A round starts with the
 * items there are and takes ceil(size / ticks) of them per tick, so each item present at the start
 * of a round is visited in it exactly once; an item added during a round is visited in it if
 * room is left, or early in the next; a removed one is not visited.
 */
export class PacedSweep<T> {
  private readonly ticksPerRound: number;
  private readonly tickMs: number;
  private timer: NodeJS.Timeout | undefined;
  private round: IterableIterator<T> | undefined;
  private perTick = 0;
  private ticksLeft = 0;

  constructor(
    private readonly items: SweptCollection<T>,
    intervalMs: number,
    private readonly visit: (item: T) => void,
    tickMs = SWEEP_TICK_MS,
  ) {
    this.ticksPerRound = Math.max(1, Math.round(intervalMs / tickMs));
    this.tickMs = intervalMs / this.ticksPerRound;
  }

  /** The first slice comes one tick from now. */
  start(): void {
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One slice. Public for tests. */
  tick(): void {
    if (this.ticksLeft === 0) {
      this.round = this.items.values();
      this.perTick = Math.ceil(this.items.size / this.ticksPerRound);
      this.ticksLeft = this.ticksPerRound;
    }
    this.ticksLeft -= 1;
    for (let visited = 0; visited < this.perTick; visited += 1) {
      const next = this.round?.next();
      if (!next || next.done) {
        this.round = undefined;
        return;
      }
      this.visit(next.value);
    }
  }
}
