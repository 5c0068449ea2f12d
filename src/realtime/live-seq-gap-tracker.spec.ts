import type { WebSocket } from 'ws';
import { loadConfig } from '@config';
import { InProcessTransport, MessageBus } from '@libs/bus';
import { InProcessMessageEvents } from '@app/messages/message-events';
import { MessageResponseDto } from '@app/messages/messages.dto';
import { MetricsService } from '@app/metrics/metrics.service';
import { RoomEvents } from '@app/rooms/room-events';
import { ConnectionRegistry } from './connection-registry';
import { FleetRelay } from './fleet-relay';
import { LiveSeqGapTracker } from './live-seq-gap-tracker';
import { SEQ_GAP_DEADLINE_MS } from './live-seq-gaps';
import { LocalFanout } from './local-fanout';
import { MessageDelivery } from './message-delivery';
import { RealtimeMetrics } from './realtime-metrics';

const ROOM = '8b027f08-0000-4000-8000-000000000001';
const ALICE = 'a11ce000-0000-4000-8000-000000000001';

/** The in-process bus, less the messages a test tells it to lose (a Redis pub/sub drop). */
class LossyTransport extends InProcessTransport {
  lose = 0;

  override publish(channel: string, data: Buffer): Promise<void> {
    if (this.lose > 0) {
      this.lose -= 1;
      return Promise.resolve();
    }
    return super.publish(channel, data);
  }
}

class OpenSocket {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  send() {}
  close() {
    this.readyState = 3;
  }
  terminate() {
    this.readyState = 3;
  }
}

function entry(seq: number): MessageResponseDto {
  return {
    id: crypto.randomUUID(),
    roomId: ROOM,
    seq,
    senderId: ALICE,
    body: `entry ${seq}`,
    clientMsgId: null,
    createdAt: new Date().toISOString(),
    kind: 'message',
    messageId: null,
    editedAt: null,
    deletedAt: null,
  };
}

/** Two instances on one bus, with live delivery and the tracker as the app wires them. */
function twoInstances() {
  const config = loadConfig({ NODE_ENV: 'test' });
  const transport = new LossyTransport();
  const bus = new MessageBus(transport);
  const instances = [0, 1].map(() => {
    const metricsService = new MetricsService();
    const metrics = new RealtimeMetrics(metricsService, bus);
    const registry = new ConnectionRegistry(config, metrics, metricsService);
    const relay = new FleetRelay(bus, registry, metrics);
    const tracker = new LiveSeqGapTracker(registry, metricsService);
    const events = new InProcessMessageEvents();
    const delivery = new MessageDelivery(
      events,
      new LocalFanout(registry, metrics),
      relay,
      new RoomEvents(),
      tracker,
    );
    delivery.onModuleInit();
    tracker.onModuleInit();
    const gaps = async () => {
      const counter = await metricsService.registry
        .getSingleMetric('switchboard_live_seq_gaps_total')!
        .get();
      return counter.values[0]?.value ?? 0;
    };
    const commit = (seq: number) => events.messageCommitted(entry(seq), { kind: 'room' });
    return { registry, relay, tracker, gaps, commit };
  });
  return { instances, transport };
}

describe(LiveSeqGapTracker.name, () => {
  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'queueMicrotask', 'nextTick'] });
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('counts the entries of a room with a member here that live delivery never brought, not late ones', async () => {
    const { instances, transport } = twoInstances();
    const [here, there] = instances;
    const { connection } = here.registry.add(new OpenSocket() as unknown as WebSocket, {
      id: ALICE,
      sessionId: 'session',
      expiresAt: new Date(Date.now() + 600_000),
    });
    here.registry.joinRoom(connection, ROOM);
    await here.relay.watch('room', ROOM);

    // Both instances store entries of the room; the relay brings the other's here.
    here.commit(1);
    there.commit(2);
    there.commit(3);
    here.commit(4);
    // Out of order within the deadline: no gap.
    here.commit(6);
    there.commit(5);
    jest.advanceTimersByTime(SEQ_GAP_DEADLINE_MS + 2000);
    expect(await here.gaps()).toBe(0);

    // The bus loses one of the other instance's entries: one gap, once its deadline passed.
    transport.lose = 1;
    there.commit(7);
    here.commit(8);
    jest.advanceTimersByTime(SEQ_GAP_DEADLINE_MS - 1000);
    expect(await here.gaps()).toBe(0);
    jest.advanceTimersByTime(2000);
    expect(await here.gaps()).toBe(1);
    // The other instance has no member in the room: it tracks nothing.
    expect(await there.gaps()).toBe(0);

    here.tracker.onModuleDestroy();
    there.tracker.onModuleDestroy();
  });
});
