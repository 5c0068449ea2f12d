/** One item's outcome within a batch: a failing item fails only its own caller. */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

export interface GroupCommitOptions {
  /** Most items one commit takes. */
  maxBatch: number;
  /** Most commits running at once; items arriving meanwhile wait and form the next batch. */
  maxInFlight: number;
  /** Told of every commit that returned (settled or thrown): its items and how long it took. */
  observer?: GroupCommitObserver;
}

export type GroupCommitObserver = (items: number, seconds: number) => void;

interface Pending<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
}

/**
 * Groups concurrent submissions into batches that `commit` stores together, and settles each
 * caller only once its batch's commit has returned. A batch is what arrived within one turn of
 * the event loop, plus whatever queued while earlier commits were in flight: a lone caller waits
 * for no timer, and under load batches grow by themselves up to `maxBatch`.
 */
export class GroupCommit<I, O> {
  private readonly queue: Pending<I, O>[] = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly commit: (items: I[]) => Promise<Settled<O>[]>,
    private readonly options: GroupCommitOptions,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (!this.scheduled && this.inFlight < this.options.maxInFlight) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    while (this.queue.length > 0 && this.inFlight < this.options.maxInFlight) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.inFlight += 1;
      void this.run(batch);
    }
  }

  private async run(batch: Pending<I, O>[]): Promise<void> {
    const started = performance.now();
    try {
      const results = await this.observed(batch, started);
      batch.forEach((pending, index) => {
        const result = results[index];
        if (result?.ok) {
          pending.resolve(result.value);
        } else {
          pending.reject(result ? result.error : new Error('The batch returned no result'));
        }
      });
    } catch (error) {
      for (const pending of batch) {
        pending.reject(error);
      }
    } finally {
      this.inFlight -= 1;
      if (this.queue.length > 0) {
        this.schedule();
      }
    }
  }

  private async observed(batch: Pending<I, O>[], started: number): Promise<Settled<O>[]> {
    try {
      return await this.commit(batch.map((pending) => pending.item));
    } finally {
      this.options.observer?.(batch.length, (performance.now() - started) / 1000);
    }
  }
}

/** Runs `work` and captures its outcome, so that one failure stays with its own item. */
export async function settle<T>(work: () => T | Promise<T>): Promise<Settled<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    return { ok: false, error };
  }
}
