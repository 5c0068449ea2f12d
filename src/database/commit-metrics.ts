import { Injectable } from '@nestjs/common';
import { MetricsService } from '@app/metrics/metrics.service';
import type { GroupCommitObserver } from './group-commit';

/** A commit takes about a millisecond alone, and tens under a burst or on a busy disk. */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** Up to the largest batch (500 on PostgreSQL). */
const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

/**
 * `switchboard_commit_duration_seconds` and `switchboard_group_commit_batch_size`: one
 * observation per group commit (a transaction, or a statement, shared by a batch of writes), of
 * every GroupCommit of the process.
 */
@Injectable()
export class CommitMetrics {
  readonly observer: GroupCommitObserver;

  constructor(metrics: MetricsService) {
    const duration = metrics.histogram({
      name: 'commit_duration_seconds',
      help: 'Duration of each group commit (one transaction or statement for a batch of writes)',
      buckets: DURATION_BUCKETS,
    });
    const batchSize = metrics.histogram({
      name: 'group_commit_batch_size',
      help: 'Writes per group commit',
      buckets: BATCH_SIZE_BUCKETS,
    });
    this.observer = (items, seconds) => {
      duration.observe(seconds);
      batchSize.observe(items);
    };
  }
}
