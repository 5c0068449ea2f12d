import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleDestroy,
} from '@nestjs/common';
import { AuthSessionsRepository } from './auth-sessions.repository';

/** How often expired sessions are looked for. Every instance does it; deletes are idempotent. */
const PRUNE_INTERVAL_MS = 10 * 60_000;
/** Rows per delete statement, and statements per run: a run does bounded work. */
export const PRUNE_BATCH = 500;
export const PRUNE_MAX_BATCHES = 20;

/**
 * Deletes expired logins (`auth_sessions` past `expiresAt`, which no refresh accepts any more)
 * now and then, so that the table holds live logins, not every login ever made.
 */
@Injectable()
export class AuthSessionPruner implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(AuthSessionPruner.name);
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;

  constructor(
    @Inject(AuthSessionsRepository)
    private readonly sessions: Pick<AuthSessionsRepository, 'deleteExpired'>,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.prune().catch((error: Error) =>
        this.logger.warn(`Expired sessions not pruned: ${error.message}`),
      );
    }, PRUNE_INTERVAL_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** One run: batches until none is full or the run's bound is reached; returns rows deleted. */
  prune(now = new Date()): Promise<number> {
    this.running ??= this.pruneBatches(now).finally(() => (this.running = undefined));
    return this.running;
  }

  private async pruneBatches(now: Date): Promise<number> {
    let deleted = 0;
    for (let batch = 0; batch < PRUNE_MAX_BATCHES; batch++) {
      const count = await this.sessions.deleteExpired(now, PRUNE_BATCH);
      deleted += count;
      if (count < PRUNE_BATCH) {
        break;
      }
    }
    return deleted;
  }
}
