type Release = () => Promise<void> | void;

const openScopes = new Set<ResourceScope>();

/**
 * What a scenario started (processes, temp dirs, databases), released in reverse order when the
 * scenario ends, fails, or the bench is interrupted: nothing outlives the run.
 */
export class ResourceScope {
  private readonly releases: Release[] = [];

  constructor() {
    openScopes.add(this);
  }

  /** Registers `release` to run when the scope closes; the last added runs first. */
  add(release: Release): void {
    this.releases.push(release);
  }

  async close(): Promise<void> {
    openScopes.delete(this);
    for (const release of this.releases.splice(0).reverse()) {
      try {
        await release();
      } catch (error) {
        process.stderr.write(`bench: cleanup step failed: ${(error as Error).message}\n`);
      }
    }
  }
}

/** Closes every scope still open: on Ctrl-C, SIGTERM or a crash of the runner. */
export async function closeAllScopes(): Promise<void> {
  for (const scope of [...openScopes].reverse()) {
    await scope.close();
  }
}
