import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { MetricsService } from '@app/metrics/metrics.service';
import { ConnectionRegistry } from './connection-registry';
import { entrySeqOf, LiveSeqGaps } from './live-seq-gaps';

/** How often skipped seqs past their deadline are counted. */
const EXPIRY_INTERVAL_MS = 1000;

/**
 * `switchboard_live_seq_gaps_total`: entries of rooms with live members here that this instance's
 * live delivery never saw (see LiveSeqGaps). Fed by MessageDelivery with every room entry it
 * delivers, local or relayed; told by RealtimeSessions when a room's last local member left.
 */
@Injectable()
export class LiveSeqGapTracker implements OnModuleInit, OnModuleDestroy {
  private readonly gaps: LiveSeqGaps;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly registry: ConnectionRegistry,
    metrics: MetricsService,
  ) {
    const counter = metrics.counter({
      name: 'live_seq_gaps_total',
      help: 'Room entries live delivery on this instance never saw (a seq skipped and not delivered within 5 s), in rooms with live members here',
    });
    this.gaps = new LiveSeqGaps((count) => counter.inc(count));
    metrics.registryEntries('seq_gap_rooms', () => this.gaps.roomCount);
    metrics.registryEntries('seq_gap_pending', () => this.gaps.pendingSeqs);
  }

  onModuleInit(): void {
    this.timer = setInterval(() => {
      if (this.gaps.pendingSeqs > 0) {
        this.gaps.expire(Date.now());
      }
    }, EXPIRY_INTERVAL_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** An entry of `roomId` this instance delivers live (stored here). */
  delivered(roomId: string, seq: number): void {
    if (this.registry.membersOf(roomId).size > 0) {
      this.gaps.delivered(roomId, seq, Date.now());
    }
  }

  /** A frame of `roomId` relayed from another instance: counted when it is an entry. */
  deliveredFrame(roomId: string, payload: Buffer): void {
    if (this.registry.membersOf(roomId).size > 0) {
      const seq = entrySeqOf(payload);
      if (seq !== undefined) {
        this.gaps.delivered(roomId, seq, Date.now());
      }
    }
  }

  /** The room's last local member left. */
  forget(roomId: string): void {
    this.gaps.forget(roomId);
  }
}
