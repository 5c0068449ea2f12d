import type { WebSocket } from 'ws';
import { loadConfig } from '@config';
import { InProcessTransport, MessageBus } from '@libs/bus';
import { TYPING_RELAY_INTERVAL_MS } from '@libs/protocol';
import { MetricsService } from '@app/metrics/metrics.service';
import { ConnectionRegistry } from './connection-registry';
import { FleetRelay } from './fleet-relay';
import { LocalFanout } from './local-fanout';
import { RealtimeMetrics } from './realtime-metrics';
import { RealtimeError } from './realtime.error';
import { TypingIndicators } from './typing-indicators';

/** The text frames a socket was sent (the fast path is off here: ws's own `send`). */
class RecordingSocket {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  readonly received: { event: string; data: unknown }[] = [];
  send(data: string | Buffer) {
    this.received.push(JSON.parse(data.toString()) as { event: string; data: unknown });
  }
  close() {
    this.readyState = 3;
  }
  terminate() {
    this.readyState = 3;
  }
}

const ROOM = '8b027f08-0000-4000-8000-000000000001';
const OTHER_ROOM = '8b027f08-0000-4000-8000-000000000002';
const ALICE = 'a11ce000-0000-4000-8000-000000000001';
const BOB = 'b0b00000-0000-4000-8000-000000000002';
const CAROL = 'ca201000-0000-4000-8000-000000000003';

/** Two instances on one in-process bus, each with its registry, fan-out, relay and indicators. */
function twoInstances() {
  const config = loadConfig({ NODE_ENV: 'test' });
  const bus = new MessageBus(new InProcessTransport());
  return [0, 1].map(() => {
    const metricsService = new MetricsService();
    const metrics = new RealtimeMetrics(metricsService, bus);
    const registry = new ConnectionRegistry(config, metrics, metricsService);
    const fanout = new LocalFanout(registry, metrics);
    const relay = new FleetRelay(bus, registry, metrics);
    const typing = new TypingIndicators(registry, fanout, relay);
    typing.onModuleInit();
    const connect = async (userId: string, roomId?: string) => {
      const socket = new RecordingSocket();
      const { connection } = registry.add(socket as unknown as WebSocket, {
        id: userId,
        sessionId: 'session',
        expiresAt: new Date(Date.now() + 60_000),
      });
      if (roomId) {
        registry.joinRoom(connection, roomId);
        await relay.watch('room', roomId);
      }
      return { socket, connection };
    };
    return { registry, relay, typing, connect };
  });
}

const settle = () => new Promise((resolve) => setImmediate(resolve));
const typingFrom = (socket: RecordingSocket) =>
  socket.received.filter((frame) => frame.event === 'typing').map((frame) => frame.data);

describe(TypingIndicators.name, () => {
  it("reaches the room's other members on both instances, never the typer's own connections nor a non-member", async () => {
    const [here, there] = twoInstances();
    const alice = await here.connect(ALICE, ROOM);
    const aliceSecond = await here.connect(ALICE, ROOM);
    const aliceThere = await there.connect(ALICE, ROOM);
    const bobHere = await here.connect(BOB, ROOM);
    const bobThere = await there.connect(BOB, ROOM);
    const carolElsewhere = await there.connect(CAROL, OTHER_ROOM);
    const carolUnjoined = await here.connect(CAROL);

    here.typing.typing(alice.connection, ROOM);
    await settle();

    const expected = [{ roomId: ROOM, userId: ALICE }];
    expect(typingFrom(bobHere.socket)).toEqual(expected);
    expect(typingFrom(bobThere.socket)).toEqual(expected);
    for (const silent of [alice, aliceSecond, aliceThere, carolElsewhere, carolUnjoined]) {
      expect(silent.socket.received).toEqual([]);
    }
  });

  it('refuses a connection that did not join the room, even when another of the user did', async () => {
    const [here] = twoInstances();
    await here.connect(ALICE, ROOM);
    const unjoined = await here.connect(ALICE);
    const bob = await here.connect(BOB, ROOM);

    expect(() => here.typing.typing(unjoined.connection, ROOM)).toThrow(
      expect.objectContaining({ code: 'not_member' }) as RealtimeError,
    );
    await settle();
    expect(bob.socket.received).toEqual([]);
    // Positive control: once joined on that connection, it is relayed.
    here.registry.joinRoom(unjoined.connection, ROOM);
    here.typing.typing(unjoined.connection, ROOM);
    await settle();
    expect(typingFrom(bob.socket)).toEqual([{ roomId: ROOM, userId: ALICE }]);
  });

  it('relays one per connection and room every interval and drops the rest', async () => {
    const [here, there] = twoInstances();
    const alice = await here.connect(ALICE, ROOM);
    here.registry.joinRoom(alice.connection, OTHER_ROOM);
    const bobHere = await here.connect(BOB, ROOM);
    const bobThere = await there.connect(BOB, ROOM);
    const bobOther = await here.connect(BOB, OTHER_ROOM);
    const start = 1_000_000;

    for (let offset = 0; offset < TYPING_RELAY_INTERVAL_MS; offset += 100) {
      here.typing.typing(alice.connection, ROOM, start + offset);
    }
    // Another room has a turn of its own.
    here.typing.typing(alice.connection, OTHER_ROOM, start + 500);
    here.typing.typing(alice.connection, ROOM, start + TYPING_RELAY_INTERVAL_MS);
    await settle();

    expect(typingFrom(bobHere.socket)).toHaveLength(2);
    expect(typingFrom(bobThere.socket)).toHaveLength(2);
    expect(typingFrom(bobOther.socket)).toEqual([{ roomId: OTHER_ROOM, userId: ALICE }]);
  });

  it('keeps throttle state only for the rooms a connection is in, and none once it is gone', async () => {
    const [here] = twoInstances();
    const alice = await here.connect(ALICE, ROOM);
    const bob = await here.connect(BOB, ROOM);
    here.registry.joinRoom(alice.connection, OTHER_ROOM);
    here.typing.typing(alice.connection, ROOM, 1000);
    here.typing.typing(alice.connection, OTHER_ROOM, 1000);
    expect(alice.connection.typingRoomsTracked).toBe(2);

    here.registry.leaveRoom(alice.connection, OTHER_ROOM);
    expect(alice.connection.typingRoomsTracked).toBe(1);
    // Left and joined again: a fresh turn at once.
    here.registry.leaveRoom(alice.connection, ROOM);
    here.registry.joinRoom(alice.connection, ROOM);
    here.typing.typing(alice.connection, ROOM, 1001);
    await settle();
    expect(typingFrom(bob.socket)).toHaveLength(2);

    here.registry.leaveRoom(alice.connection, ROOM);
    here.registry.remove(alice.connection, alice.socket as unknown as WebSocket);
    expect(alice.connection.typingRoomsTracked).toBe(0);
  });
});
