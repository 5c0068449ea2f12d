import { Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { MessageBus } from '@libs/bus';
import { MetricsService } from '@app/metrics/metrics.service';

/** The WebSocket side's Prometheus metrics, in one place. */
@Injectable()
export class RealtimeMetrics {
  readonly framesReceived: Counter<'event'>;
  readonly framesSent: Counter;
  readonly fanoutDeliveries: Counter;
  readonly slowConsumersDropped: Counter;
  readonly closed: Counter<'code'>;
  readonly upgradesRefused: Counter<'status' | 'reason'>;
  readonly relayUnreadable: Counter<'reason'>;
  readonly relayReceived: Counter<'audience' | 'routed'>;
  readonly wsFastPathEnabled: Gauge;
  /** See MetricsService.registryEntries. */
  readonly registryEntries: MetricsService['registryEntries'];

  constructor(metrics: MetricsService, bus: MessageBus) {
    this.registryEntries = (registry, size) => metrics.registryEntries(registry, size);
    this.framesReceived = metrics.counter({
      name: 'ws_frames_received_total',
      help: 'WebSocket frames received, by event (refused frames as "refused")',
      labelNames: ['event'],
    });
    this.framesSent = metrics.counter({
      name: 'ws_frames_sent_total',
      help: 'WebSocket frames written to sockets',
    });
    this.fanoutDeliveries = metrics.counter({
      name: 'ws_fanout_deliveries_total',
      help: 'Frames from the bus (messages, presence) written to a local socket',
    });
    this.slowConsumersDropped = metrics.counter({
      name: 'ws_slow_consumers_dropped_total',
      help: 'Connections closed with 1013 for reading too slowly (over WS_MAX_BUFFERED)',
    });
    this.closed = metrics.counter({
      name: 'ws_closed_by_server_total',
      help: 'Connections the server closed, by close code',
      labelNames: ['code'],
    });
    this.upgradesRefused = metrics.counter({
      name: 'ws_upgrades_refused_total',
      help: 'WebSocket upgrades refused before the 101, by HTTP status and reason',
      labelNames: ['status', 'reason'],
    });
    this.relayUnreadable = metrics.counter({
      name: 'relay_unreadable_total',
      help: 'Messages from other instances ignored because this release cannot read them (another release during a rolling upgrade), by reason',
      labelNames: ['reason'],
    });
    this.relayReceived = metrics.counter({
      name: 'relay_received_total',
      help: 'Readable messages from other instances, by audience; routed="false" when no connection here was in that room (or of that user) any more: dropped, it need not have come',
      labelNames: ['audience', 'routed'],
    });
    // At 0 from the start, so that a share of routed="false" can be read before the first one.
    for (const audience of ['room', 'user']) {
      for (const routed of ['true', 'false']) {
        this.relayReceived.inc({ audience, routed }, 0);
      }
    }
    this.wsFastPathEnabled = metrics.gauge({
      name: 'ws_fast_path_enabled',
      help: '1 when frames are written to sockets pre-framed (the start-up check found the ws internals it needs), 0 when every frame goes through socket.send',
    });
    metrics.gauge({
      name: 'bus_unrouted_messages',
      help: 'Messages the bus received since the start for a channel nothing here subscribes to any more (dropped)',
      collect() {
        this.set(bus.unroutedMessages);
      },
    });
    metrics.gauge({
      name: 'bus_reconnects',
      help: 'Times the bus has recovered from losing Redis since the start',
      collect() {
        this.set(bus.status().reconnects);
      },
    });
  }
}
