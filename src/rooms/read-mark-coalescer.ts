interface Waiter<R> {
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

interface KeyState<R> {
  /** A write of this key is running. */
  writing: boolean;
  /** The interval since this key's last write began is over. */
  intervalOver: boolean;
  timer: NodeJS.Timeout | undefined;
  /** Settles once the running write and what follows it at once are done. */
  running: Promise<void>;
  /** Marks that arrived since that write began: the highest seq, and who waits for it. */
  pending: { seq: number; waiters: Waiter<R>[] } | null;
}

/**
 * At most one write per key (a member and a room) per interval. The first mark of a key is
 * written at once; marks that arrive within the interval after it are merged (the highest seq
 * wins, since a read position only moves forward) and written together when it ends, and each
 * caller resolves once the write that covers its seq has committed. A client scrolling through a
 * room and marking every entry it shows thus costs one write per second, not one per entry. A
 * key is forgotten one interval after its last write: the state is bounded by the members who
 * marked something within the last interval.
 */
export class ReadMarkCoalescer<R> {
  private readonly keys = new Map<string, KeyState<R>>();

  constructor(
    private readonly write: (key: string, seq: number) => Promise<R>,
    private readonly intervalMs: number,
  ) {}

  /** Keys with a write running or marks waiting: what `flush` has to do. */
  get size(): number {
    return this.keys.size;
  }

  mark(key: string, seq: number): Promise<R> {
    const state = this.keys.get(key);
    if (!state) {
      const fresh: KeyState<R> = {
        writing: false,
        intervalOver: false,
        timer: undefined,
        running: Promise.resolve(),
        pending: null,
      };
      this.keys.set(key, fresh);
      return this.start(key, fresh, seq);
    }
    return new Promise<R>((resolve, reject) => {
      if (state.pending) {
        state.pending.seq = Math.max(state.pending.seq, seq);
        state.pending.waiters.push({ resolve, reject });
      } else {
        state.pending = { seq, waiters: [{ resolve, reject }] };
      }
    });
  }

  /**
   * Writes every waiting mark now, without waiting for its interval, and resolves once written
   * (at shutdown: nothing marked is lost). Rounds: a running write, then the marks merged behind
   * it, then nothing left.
   */
  async flush(): Promise<void> {
    for (let round = 0; round < 3 && this.keys.size > 0; round++) {
      const states = [...this.keys];
      for (const [key, state] of states) {
        clearTimeout(state.timer);
        state.intervalOver = true;
        void this.next(key, state);
      }
      await Promise.all(states.map(([, state]) => state.running));
    }
  }

  private start(key: string, state: KeyState<R>, seq: number): Promise<R> {
    state.writing = true;
    state.intervalOver = false;
    state.timer = setTimeout(() => {
      state.intervalOver = true;
      void this.next(key, state);
    }, this.intervalMs);
    state.timer.unref();
    const written = this.write(key, seq);
    const done = () => {
      state.writing = false;
      void this.next(key, state);
    };
    state.running = written.then(done, done);
    return written;
  }

  /** Once the write is done and the interval over: the merged marks, or forget the key. */
  private async next(key: string, state: KeyState<R>): Promise<void> {
    if (state.writing || !state.intervalOver) {
      return;
    }
    const pending = state.pending;
    state.pending = null;
    if (!pending) {
      this.keys.delete(key);
      return;
    }
    try {
      const result = await this.start(key, state, pending.seq);
      pending.waiters.forEach((waiter) => waiter.resolve(result));
    } catch (error) {
      pending.waiters.forEach((waiter) => waiter.reject(error));
    }
  }
}
