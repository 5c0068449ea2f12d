import { LoggerService } from '@nestjs/common';
import { BusMessage } from './bus-message';
import { BusReceiver, BusTransport, BusTransportStatus } from './bus-transport';
import { BusUnavailableError } from './bus-unavailable.error';
import { MessageBus } from './message-bus';

/** A transport that records what the bus asks of it and delivers only when told to. */
class FakeTransport implements BusTransport {
  readonly name = 'redis';
  readonly subscribed: string[] = [];
  readonly unsubscribed: string[] = [];
  readonly published: Array<{ channel: string; data: Buffer }> = [];
  subscribeError: Error | undefined;
  closed = false;
  private receiver: BusReceiver = () => undefined;

  onMessage(receiver: BusReceiver): void {
    this.receiver = receiver;
  }
  connect(): Promise<void> {
    return Promise.resolve();
  }
  publish(channel: string, data: Buffer): Promise<void> {
    this.published.push({ channel, data });
    return Promise.resolve();
  }
  subscribe(channel: string): Promise<void> {
    this.subscribed.push(channel);
    return this.subscribeError ? Promise.reject(this.subscribeError) : Promise.resolve();
  }
  unsubscribe(channel: string): Promise<void> {
    this.unsubscribed.push(channel);
    return Promise.resolve();
  }
  status(): BusTransportStatus {
    return { healthy: !this.closed, reconnects: 0 };
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
  deliver(channel: string, payload: unknown): void {
    this.receiver(channel, Buffer.from(JSON.stringify(payload)));
  }
}

function fakeLogger(): jest.Mocked<LoggerService> {
  return { log: jest.fn(), warn: jest.fn(), error: jest.fn() };
}

describe(MessageBus.name, () => {
  let transport: FakeTransport;
  let logger: jest.Mocked<LoggerService>;
  let bus: MessageBus;

  beforeEach(() => {
    transport = new FakeTransport();
    logger = fakeLogger();
    bus = new MessageBus(transport, logger);
  });

  it('counts what arrives for a channel nothing here holds any more, and delivers nothing of it', async () => {
    const handler = jest.fn();
    const unsubscribe = await bus.subscribe('room:1', handler);
    transport.deliver('room:1', { n: 1 });
    unsubscribe();
    transport.deliver('room:1', { n: 2 });
    transport.deliver('room:never', { n: 3 });

    expect(handler).toHaveBeenCalledTimes(1);
    expect(bus.unroutedMessages).toBe(2);
  });

  describe('reference counting', () => {
    it('subscribes the transport once for the first subscriber of a channel', async () => {
      await bus.subscribe('room:1', jest.fn());
      await bus.subscribe('room:1', jest.fn());
      await bus.subscribe('room:2', jest.fn());

      expect(transport.subscribed).toEqual(['room:1', 'room:2']);
      expect(bus.status().channels).toBe(2);
    });

    it('subscribes the transport once for concurrent first subscribers', async () => {
      await Promise.all([bus.subscribe('room:1', jest.fn()), bus.subscribe('room:1', jest.fn())]);

      expect(transport.subscribed).toEqual(['room:1']);
    });

    it('keeps delivering while one of two subscriptions remains', async () => {
      const first = jest.fn();
      const second = jest.fn();
      const unsubscribeFirst = await bus.subscribe('room:1', first);
      await bus.subscribe('room:1', second);

      unsubscribeFirst();
      transport.deliver('room:1', { n: 1 });

      expect(first).not.toHaveBeenCalled();
      expect(second).toHaveBeenCalledTimes(1);
      expect(transport.unsubscribed).toEqual([]);
    });

    it('counts the same handler subscribed twice as two subscriptions', async () => {
      const handler = jest.fn();
      const unsubscribeOnce = await bus.subscribe('room:1', handler);
      await bus.subscribe('room:1', handler);

      transport.deliver('room:1', { n: 1 });
      unsubscribeOnce();
      transport.deliver('room:1', { n: 2 });

      expect(handler).toHaveBeenCalledTimes(3);
      expect(transport.unsubscribed).toEqual([]);
    });

    it('unsubscribes the transport when the last subscriber leaves', async () => {
      const handler = jest.fn();
      const unsubscribeFirst = await bus.subscribe('room:1', handler);
      const unsubscribeSecond = await bus.subscribe('room:1', handler);

      unsubscribeFirst();
      unsubscribeSecond();
      transport.deliver('room:1', { n: 1 });

      expect(transport.unsubscribed).toEqual(['room:1']);
      expect(handler).not.toHaveBeenCalled();
      expect(bus.status().channels).toBe(0);
    });

    it('ignores a second call of the same unsubscribe', async () => {
      const unsubscribeFirst = await bus.subscribe('room:1', jest.fn());
      const second = jest.fn();
      await bus.subscribe('room:1', second);

      unsubscribeFirst();
      unsubscribeFirst();
      transport.deliver('room:1', { n: 1 });

      expect(second).toHaveBeenCalledTimes(1);
      expect(transport.unsubscribed).toEqual([]);
    });

    it('subscribes the transport again for a channel that was dropped', async () => {
      const unsubscribe = await bus.subscribe('room:1', jest.fn());
      unsubscribe();
      await bus.subscribe('room:1', jest.fn());

      expect(transport.subscribed).toEqual(['room:1', 'room:1']);
      expect(transport.unsubscribed).toEqual(['room:1']);
    });
  });

  describe('delivery', () => {
    it('delivers only to the subscribers of the channel', async () => {
      const inRoom = jest.fn();
      const elsewhere = jest.fn();
      await bus.subscribe('room:1', inRoom);
      await bus.subscribe('room:2', elsewhere);

      transport.deliver('room:1', { body: 'hi' });

      expect(inRoom).toHaveBeenCalledTimes(1);
      const message = inRoom.mock.calls[0][0] as BusMessage;
      expect(message.channel).toBe('room:1');
      expect(message.json()).toEqual({ body: 'hi' });
      expect(elsewhere).not.toHaveBeenCalled();
    });

    it('gives every subscriber the same bytes', async () => {
      const first = jest.fn();
      const second = jest.fn();
      await bus.subscribe('room:1', first);
      await bus.subscribe('room:1', second);

      transport.deliver('room:1', { body: 'hi' });

      expect(first.mock.calls[0][0].data).toBe(second.mock.calls[0][0].data);
    });

    it('keeps delivering to the others when a handler throws or rejects', async () => {
      const throwing = jest.fn(() => {
        throw new Error('boom');
      });
      const rejecting = jest.fn(() => Promise.reject(new Error('async boom')));
      const healthy = jest.fn();
      await bus.subscribe('room:1', throwing);
      await bus.subscribe('room:1', rejecting);
      await bus.subscribe('room:1', healthy);

      transport.deliver('room:1', { n: 1 });
      await new Promise((resolve) => setImmediate(resolve));

      expect(healthy).toHaveBeenCalledTimes(1);
      expect(logger.error).toHaveBeenCalledTimes(2);
      expect(logger.error).toHaveBeenCalledWith(
        expect.stringContaining('boom'),
        expect.any(String),
      );
    });
  });

  describe('publish', () => {
    it('serializes a value once as JSON', async () => {
      await bus.publish('room:1', { id: 7, body: 'hé' });

      expect(transport.published).toHaveLength(1);
      expect(transport.published[0].channel).toBe('room:1');
      expect(transport.published[0].data.toString('utf8')).toBe('{"id":7,"body":"hé"}');
    });

    it('sends a Buffer as is', async () => {
      const bytes = Buffer.from('{"already":"serialized"}');

      await bus.publish('room:1', bytes);

      expect(transport.published[0].data).toBe(bytes);
    });

    it('rejects a payload that JSON cannot represent, and an empty channel', async () => {
      await expect(bus.publish('room:1', undefined)).rejects.toThrow(TypeError);
      await expect(bus.publish('', { n: 1 })).rejects.toThrow(TypeError);
      expect(transport.published).toEqual([]);
    });
  });

  describe('when the transport refuses a subscription', () => {
    it('rejects, forgets the channel and lets the next subscriber try again', async () => {
      transport.subscribeError = new BusUnavailableError('down');

      await expect(bus.subscribe('room:1', jest.fn())).rejects.toThrow(BusUnavailableError);
      expect(bus.status().channels).toBe(0);

      transport.subscribeError = undefined;
      const handler = jest.fn();
      await bus.subscribe('room:1', handler);
      transport.deliver('room:1', { n: 1 });

      expect(transport.subscribed).toEqual(['room:1', 'room:1']);
      expect(handler).toHaveBeenCalledTimes(1);
    });
  });

  describe('shutdown', () => {
    it('closes the transport and refuses to publish or subscribe afterwards', async () => {
      await bus.subscribe('room:1', jest.fn());

      await bus.onApplicationShutdown();

      expect(transport.closed).toBe(true);
      expect(bus.isHealthy()).toBe(false);
      await expect(bus.publish('room:1', { n: 1 })).rejects.toThrow(BusUnavailableError);
      await expect(bus.subscribe('room:1', jest.fn())).rejects.toThrow(BusUnavailableError);
    });
  });
});
