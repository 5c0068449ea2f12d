import { Logger } from '@nestjs/common';
import { InProcessTransport, MessageBus } from '@libs/bus';
import { MetricsService } from '@app/metrics/metrics.service';
import { ConnectionRegistry } from './connection-registry';
import { ControlMessage, FleetRelay, RemoteFrame } from './fleet-relay';
import { RealtimeMetrics } from './realtime-metrics';

const ROOM = '8b027f08-0000-4000-8000-000000000001';

/** Two instances' relays on one bus: what one publishes, the other hears, and it never itself. */
function twoInstances() {
  const bus = new MessageBus(new InProcessTransport());
  const metrics = new RealtimeMetrics(new MetricsService(), bus);
  const relays = [0, 1].map(
    () => new FleetRelay(bus, { instanceId: crypto.randomUUID() } as ConnectionRegistry, metrics),
  );
  const heard = relays.map((relay) => {
    const frames: RemoteFrame[] = [];
    const control: ControlMessage[] = [];
    relay.remoteFrames.subscribe((frame) => frames.push(frame));
    relay.control.subscribe((message) => control.push(message));
    return { frames, control };
  });
  return { bus, metrics, relays, heard };
}

describe('FleetRelay', () => {
  it("carries a room's frame to the other instances only, once each", async () => {
    const { relays, heard } = twoInstances();
    await Promise.all(relays.map((relay) => relay.watch('room', ROOM)));

    relays[0].publishFrame('room', ROOM, Buffer.from('{"event":"message"}'));
    await new Promise((resolve) => setImmediate(resolve));

    expect(heard[0].frames).toEqual([]);
    expect(heard[1].frames).toHaveLength(1);
    expect(heard[1].frames[0]).toMatchObject({ audience: 'room', id: ROOM });
    expect(heard[1].frames[0].payload.toString()).toBe('{"event":"message"}');
  });

  it('keeps control apart from data, and stops hearing a room it no longer watches', async () => {
    const { relays, heard } = twoInstances();
    await Promise.all(relays.map((relay) => relay.watch('room', ROOM)));

    relays[0].publishControl('room', ROOM, { type: 'revoked', roomId: ROOM, userId: null });
    await new Promise((resolve) => setImmediate(resolve));
    expect(heard[1].control).toEqual([{ type: 'revoked', roomId: ROOM, userId: null }]);
    expect(heard[1].frames).toEqual([]);

    relays[1].unwatch('room', ROOM);
    await relays[1].watch('user', 'someone');
    relays[0].publishFrame('room', ROOM, Buffer.from('{}'));
    relays[0].publishFrame('user', 'someone', Buffer.from('{}'));
    await new Promise((resolve) => setImmediate(resolve));
    // The user's frame arrives (the relay works); the room's, unwatched, does not.
    expect(heard[1].frames.map((frame) => frame.audience)).toEqual(['user']);
  });

  it('drops what it cannot read, counts it by reason, and still delivers what it can', async () => {
    const { bus, metrics, relays, heard } = twoInstances();
    await Promise.all(relays.map((relay) => relay.watch('room', ROOM)));
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      const later = Buffer.from([2, 1, ...Buffer.from(crypto.randomUUID()), ...Buffer.from('{}')]);
      await bus.publish(`relay:room:${ROOM}`, later);
      await bus.publish(`relay:room:${ROOM}`, later);
      await bus.publish(`relay:room:${ROOM}`, Buffer.from([1, 1, 0x33]));
      // Positive control: a readable frame on the same channel arrives.
      relays[0].publishFrame('room', ROOM, Buffer.from('{"event":"message"}'));
      await new Promise((resolve) => setImmediate(resolve));

      expect(heard[1].frames.map((frame) => frame.payload.toString())).toEqual([
        '{"event":"message"}',
      ]);
      const counted = await metrics.relayUnreadable.get();
      const byReason = Object.fromEntries(
        counted.values.map(({ labels, value }) => [labels.reason, value]),
      );
      // Each of the two instances saw each unreadable message once.
      expect(byReason).toEqual({ version: 4, truncated: 2 });
      // One line per reason and instance, not one per message.
      expect(warn).toHaveBeenCalledTimes(4);
    } finally {
      warn.mockRestore();
    }
  });
});
