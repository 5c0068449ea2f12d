import { Logger } from '@nestjs/common';
import { BusUnavailableError, InProcessTransport, MessageBus } from '@libs/bus';
import { MetricsService } from '@app/metrics/metrics.service';
import { ConnectionRegistry } from './connection-registry';
import { ControlMessage, FleetRelay, RemoteFrame } from './fleet-relay';
import { RealtimeMetrics } from './realtime-metrics';

const ROOM = '8b027f08-0000-4000-8000-000000000001';

/** The in-process bus with faults: subscribing a channel that `refuses` fails. */
class FlakyTransport extends InProcessTransport {
  refuses: (channel: string) => boolean = () => false;
  readonly subscribed: string[] = [];
  private readonly reconnectedListeners = new Set<() => void>();

  override subscribe(channel?: string): Promise<void> {
    if (channel && this.refuses(channel)) {
      return Promise.reject(new Error(`refused ${channel}`));
    }
    this.subscribed.push(channel ?? '');
    return Promise.resolve();
  }

  onReconnected(listener: () => void): () => void {
    this.reconnectedListeners.add(listener);
    return () => this.reconnectedListeners.delete(listener);
  }

  reconnect(): void {
    this.reconnectedListeners.forEach((listener) => listener());
  }
}

/** The in-process bus while Redis is unavailable: a publish is refused, as RedisTransport does. */
class OutageTransport extends FlakyTransport {
  down = false;
  publishedWhileDown = 0;

  override publish(channel: string, data: Buffer): Promise<void> {
    if (this.down) {
      this.publishedWhileDown += 1;
      return Promise.reject(new BusUnavailableError(`"${channel}" was not published`));
    }
    return super.publish(channel, data);
  }
}

/** Two instances' relays on one bus: what one publishes, the other hears, and it never itself. */
function twoInstances(transport: InProcessTransport = new InProcessTransport()) {
  const bus = new MessageBus(transport);
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

  it('counts what it receives from others, routed while watched, and drops it after', async () => {
    const { metrics, relays, heard } = twoInstances();
    const received = async () => {
      const counted = await metrics.relayReceived.get();
      return Object.fromEntries(
        counted.values.map(({ labels, value }) => [`${labels.audience} ${labels.routed}`, value]),
      );
    };
    // Every series is there from the start, at 0.
    expect(await received()).toEqual({
      'room true': 0,
      'room false': 0,
      'user true': 0,
      'user false': 0,
    });
    await Promise.all(relays.map((relay) => relay.watch('room', ROOM)));

    relays[0].publishFrame('room', ROOM, Buffer.from('{"event":"message"}'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(heard[1].frames).toHaveLength(1);
    // Instance 1 counts it routed; instance 0 (the same metrics here) not its own echo.
    expect(await received()).toMatchObject({ 'room true': 1, 'room false': 0 });

    // A late one: it reaches instance 1 before its subscription is gone (the in-process bus
    // delivers before the unsubscribe runs).
    relays[1].unwatch('room', ROOM);
    relays[0].publishFrame('room', ROOM, Buffer.from('{"event":"late"}'));
    relays[0].publishControl('room', ROOM, { type: 'revoked', roomId: ROOM, userId: null });
    await new Promise((resolve) => setImmediate(resolve));
    expect(heard[1].frames).toHaveLength(1);
    expect(heard[1].control).toEqual([]);
    expect(await received()).toEqual({
      'room true': 1,
      'room false': 2,
      'user true': 0,
      'user false': 0,
    });
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
      // What releases before the relay put on their plain channels: not this format either.
      await bus.publish(`relay:room:${ROOM}`, Buffer.from('{"event":"message","data":{}}'));
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
      expect(byReason).toEqual({ version: 6, truncated: 2 });
      // One line per reason and instance, not one per message.
      expect(warn).toHaveBeenCalledTimes(4);
    } finally {
      warn.mockRestore();
    }
  });

  it('drops a typing control message published while the bus is down: nothing is delivered when it is back', async () => {
    const transport = new OutageTransport();
    const { relays, heard } = twoInstances(transport);
    await Promise.all(relays.map((relay) => relay.watch('room', ROOM)));
    const typing = (userId: string): ControlMessage => ({ type: 'typing', roomId: ROOM, userId });

    transport.down = true;
    relays[0].publishControl('room', ROOM, typing('during the outage'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(transport.publishedWhileDown).toBe(1);

    transport.down = false;
    transport.reconnect();
    relays[0].publishControl('room', ROOM, typing('after it'));
    await new Promise((resolve) => setImmediate(resolve));
    // Only the one published once the bus was back: the other was not kept for later.
    expect(heard[1].control).toEqual([typing('after it')]);
  });

  it('tries a failed watch again when the bus is back, until unwatched, with one handler each', async () => {
    const transport = new FlakyTransport();
    const { relays, heard } = twoInstances(transport);
    const settle = () => new Promise((resolve) => setImmediate(resolve));
    transport.refuses = (channel) => channel.includes('someone');
    await expect(relays[1].watch('user', 'someone')).rejects.toThrow('refused');
    relays[0].publishFrame('user', 'someone', Buffer.from('{}'));
    await settle();
    expect(heard[1].frames).toEqual([]);

    transport.refuses = () => false;
    transport.reconnect();
    await settle();
    relays[0].publishFrame('user', 'someone', Buffer.from('{}'));
    relays[0].publishControl('user', 'someone', { type: 'revoked', roomId: ROOM, userId: 'x' });
    await settle();
    // Once each: the failed attempt left no handler beside the retry's.
    expect(heard[1].frames).toHaveLength(1);
    expect(heard[1].control).toHaveLength(1);

    transport.refuses = (channel) => channel.includes(ROOM);
    await expect(relays[1].watch('room', ROOM)).rejects.toThrow('refused');
    relays[1].unwatch('room', ROOM);
    transport.refuses = () => false;
    const before = transport.subscribed.length;
    transport.reconnect();
    await settle();
    expect(transport.subscribed.length).toBe(before);
    relays[1].onModuleDestroy();
  });
});
