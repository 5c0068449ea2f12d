import { Injectable, OnModuleInit } from '@nestjs/common';
import type { RoomEventKind } from '@libs/protocol';
import { MetricsService } from '@app/metrics/metrics.service';
import { InProcessMessageEvents } from './message-events';

const KINDS: readonly RoomEventKind[] = ['message', 'edit', 'delete'];

/** `switchboard_messages_stored_total{kind}`: the entries this instance committed, by kind. */
@Injectable()
export class StoredEntriesMetrics implements OnModuleInit {
  constructor(
    private readonly events: InProcessMessageEvents,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    const stored = this.metrics.counter({
      name: 'messages_stored_total',
      help: 'Room entries (messages, edits, deletes) this instance committed, by kind',
      labelNames: ['kind'],
    });
    // At 0 from the start, so that a rate reads 0 rather than nothing.
    for (const kind of KINDS) {
      stored.inc({ kind }, 0);
    }
    // Every committed entry passes here once, after its commit (a retry that finds it does not).
    this.events.subscribe(({ message }) => stored.inc({ kind: message.kind }));
  }
}
