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
  /** Writes that reached the TCP socket: each uncorked batch is one, as in one system call. */
  tcpWrites = 0;
  private corked = 0;
  readonly _sender = { _state: 0 };
  readonly _socket = {
    write: (bytes: Buffer) => {
      this.received.push(payloadOf(bytes));
      this.tcpWrites += this.corked > 0 ? 0 : 1;
    },
    cork: () => {
      this.corked++;
    },
    uncork: () => {
      this.corked--;
      this.tcpWrites++;
    },
  };
  // ws's own path (the fast path is off here): framed (a short text header; payloadOf skips it)
  // and written to the same TCP socket, so that corked batches count as one write either way.
  send(data: string | Buffer) {
    this._socket.write(Buffer.concat([Buffer.from([0x81, 0]), Buffer.from(data)]));
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
const OTHER_ROOM = '8b027f08-0000-4000-8000-000000000002';

function setUp() {
  const config = loadConfig({ NODE_ENV: 'test' });
  const metricsService = new MetricsService();
  const metrics = new RealtimeMetrics(metricsService, new MessageBus(new InProcessTransport()));
  const registry = new ConnectionRegistry(config, metrics, metricsService);
  const fanout = new LocalFanout(registry, metrics);
  const join = (count: number, roomId = ROOM) =>
    Array.from({ length: count }, (_, index) => {
      const socket = new RecordingSocket();
      const { connection } = registry.add(socket as unknown as WebSocket, {
        id: `user-${index % 7}`,
        sessionId: 'session',
        expiresAt: new Date(Date.now() + 60_000),
      });
      registry.joinRoom(connection, roomId);
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

  it('writes one slice of a large room at once, the rest on later turns, every member in order', async () => {
    const { fanout, join } = setUp();
    const members = join(FANOUT_SLICE * 2 + 10);

    fanout.toRoom(ROOM, frame('one'));
    fanout.toRoom(ROOM, frame('two'));
    // The caller (the poster's ack) waited for one slice only: the last members have nothing yet.
    expect(members[0].socket.received).toHaveLength(1);
    expect(members.at(-1)!.socket.received).toHaveLength(0);

    for (let turn = 0; turn < 10; turn++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    for (const { socket } of members) {
      expect(socket.received.map((text) => JSON.parse(text).data.body)).toEqual(['one', 'two']);
    }
  });

  it('writes at most one slice per turn over all rooms, each room in order, nothing lost', async () => {
    const { fanout, join } = setUp();
    const size = Math.floor(FANOUT_SLICE * 0.8);
    const first = join(size, ROOM);
    const second = join(size, OTHER_ROOM);
    const bodies = (members: typeof first) =>
      members.map(({ socket }) => socket.received.map((text) => JSON.parse(text).data.body));
    const tcpWrites = () =>
      [...first, ...second].reduce((sum, { socket }) => sum + socket.tcpWrites, 0);

    fanout.toRoom(ROOM, frame('a1'));
    fanout.toRoom(OTHER_ROOM, frame('b1'));
    fanout.toRoom(ROOM, frame('a2'));
    // One slice was written in this turn, over both rooms; the rest waits.
    expect(tcpWrites()).toBe(FANOUT_SLICE);
    expect(bodies(first).every((received) => received.join() === 'a1')).toBe(true);

    let previous = tcpWrites();
    for (let turn = 0; turn < 5; turn++) {
      await new Promise((resolve) => setImmediate(resolve));
      expect(tcpWrites() - previous).toBeLessThanOrEqual(FANOUT_SLICE);
      previous = tcpWrites();
    }
    expect(bodies(first).every((received) => received.join() === 'a1,a2')).toBe(true);
    expect(bodies(second).every((received) => received.join() === 'b1')).toBe(true);
  });

  it('writes the frames a connection has waiting in one go, in order', async () => {
    const { fanout, join } = setUp();
    const members = join(FANOUT_SLICE + 1);
    const last = members.at(-1)!.socket;

    for (const body of ['one', 'two', 'three']) {
      fanout.toRoom(ROOM, frame(body));
    }
    expect(last.received).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));

    expect(last.received.map((text) => JSON.parse(text).data.body)).toEqual([
      'one',
      'two',
      'three',
    ]);
    expect(last.tcpWrites).toBe(1);
    // A member written at once got the first frame alone, the others together after it.
    expect(members[0].socket.received).toHaveLength(3);
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
