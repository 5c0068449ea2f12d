import type { WebSocket } from 'ws';
import { loadConfig } from '@config';
import { InProcessTransport, MessageBus } from '@libs/bus';
import { MetricsService } from '@app/metrics/metrics.service';
import { ConnectionRegistry } from './connection-registry';
import { FANOUT_SLICE, LocalFanout } from './local-fanout';
import { PreparedFrame } from './prepared-frame';
import { RealtimeMetrics } from './realtime-metrics';

/** What a socket was sent, as a client reads it: the payload of each text frame in turn. */
class RecordingSocket {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  readonly received: string[] = [];
  readonly _sender = { _state: 0 };
  readonly _socket = {
    write: (bytes: Buffer) => this.received.push(payloadOf(bytes)),
  };
  send(data: string | Buffer) {
    this.received.push(data.toString());
  }
  close() {
    this.readyState = 3;
  }
  terminate() {
    this.readyState = 3;
  }
}

/** The payload of one unmasked text frame (short or 16-bit length). */
function payloadOf(frame: Buffer): string {
  const length = frame[1] & 0x7f;
  const offset = length === 126 ? 4 : 2;
  return frame.subarray(offset).toString('utf8');
}

const ROOM = '8b027f08-0000-4000-8000-000000000001';

function setUp() {
  const config = loadConfig({ NODE_ENV: 'test' });
  const metricsService = new MetricsService();
  const metrics = new RealtimeMetrics(metricsService, new MessageBus(new InProcessTransport()));
  const registry = new ConnectionRegistry(config, metrics, metricsService);
  const fanout = new LocalFanout(registry, metrics);
  const join = (count: number) =>
    Array.from({ length: count }, (_, index) => {
      const socket = new RecordingSocket();
      const { connection } = registry.add(socket as unknown as WebSocket, {
        id: `user-${index % 7}`,
        sessionId: 'session',
        expiresAt: new Date(Date.now() + 60_000),
      });
      registry.joinRoom(connection, ROOM);
      return { socket, connection };
    });
  return { registry, fanout, join };
}

const frame = (body: string) => PreparedFrame.of('pong', { body } as never);

describe('LocalFanout', () => {
  it('writes a small room at once, the same bytes to every member', () => {
    const { fanout, join } = setUp();
    const members = join(3);

    fanout.toRoom(ROOM, frame('hello'));

    for (const { socket } of members) {
      expect(socket.received).toEqual(['{"event":"pong","data":{"body":"hello"}}']);
    }
  });

  it('returns before writing a large room, then reaches every member in order, slice by slice', async () => {
    const { fanout, join } = setUp();
    const members = join(FANOUT_SLICE * 2 + 10);

    fanout.toRoom(ROOM, frame('one'));
    fanout.toRoom(ROOM, frame('two'));
    // The caller (the poster's ack) did not wait: nothing is written yet.
    expect(members.every(({ socket }) => socket.received.length === 0)).toBe(true);

    await new Promise((resolve) => setImmediate(resolve));
    // One slice per turn: the first members have the first frame, the last ones nothing yet.
    expect(members[0].socket.received).toHaveLength(1);
    expect(members.at(-1)!.socket.received).toHaveLength(0);

    for (let turn = 0; turn < 10; turn++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    for (const { socket } of members) {
      expect(socket.received.map((text) => JSON.parse(text).data.body)).toEqual(['one', 'two']);
    }
  });

  it('skips a member that left the room while its fan-out was under way, and no other', async () => {
    const { fanout, join, registry } = setUp();
    const members = join(FANOUT_SLICE * 2);
    const leaver = members.at(-1)!;

    fanout.toRoom(ROOM, frame('after the leave'));
    registry.leaveRoom(leaver.connection, ROOM);
    for (let turn = 0; turn < 5; turn++) {
      await new Promise((resolve) => setImmediate(resolve));
    }

    expect(leaver.socket.received).toEqual([]);
    expect(members.at(-2)!.socket.received).toHaveLength(1);
  });

  it('closes a member with too much waiting (1013) instead of queueing more for it', () => {
    const { fanout, join } = setUp();
    const [slow, reader] = join(2);
    slow.socket.bufferedAmount = 10 * 1024 * 1024;

    fanout.toRoom(ROOM, frame('x'));

    expect(slow.socket.received).toEqual([]);
    expect(slow.connection.isOpen).toBe(false);
    expect(reader.socket.received).toHaveLength(1);
  });
});
