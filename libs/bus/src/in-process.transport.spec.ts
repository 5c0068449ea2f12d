import { LoggerService } from '@nestjs/common';
import { BusMessage } from './bus-message';
import { InProcessTransport } from './in-process.transport';
import { MessageBus } from './message-bus';

describe(InProcessTransport.name, () => {
  let logger: jest.Mocked<LoggerService>;
  let bus: MessageBus;

  beforeEach(() => {
    logger = { log: jest.fn(), warn: jest.fn(), error: jest.fn() };
    bus = new MessageBus(new InProcessTransport(), logger);
  });

  it('delivers to the local subscribers before publish resolves', async () => {
    const received: unknown[] = [];
    await bus.subscribe('user:1', (message) => {
      received.push(message.json());
    });

    const published = bus.publish('user:1', { body: 'hello' });
    expect(received).toEqual([{ body: 'hello' }]);
    await published;
  });

  it('does not deliver on channels nobody subscribed', async () => {
    const handler = jest.fn();
    await bus.subscribe('user:1', handler);

    await bus.publish('user:2', { body: 'hello' });

    expect(handler).not.toHaveBeenCalled();
  });

  it('stops delivering after the last unsubscribe', async () => {
    const handler = jest.fn();
    const unsubscribe = await bus.subscribe('user:1', handler);
    await bus.publish('user:1', { n: 1 });

    unsubscribe();
    await bus.publish('user:1', { n: 2 });

    expect(handler).toHaveBeenCalledTimes(1);
    expect(bus.status()).toEqual({
      transport: 'in-process',
      healthy: true,
      reconnects: 0,
      channels: 0,
    });
  });

  it('resolves publish and reaches the other subscribers when a handler throws', async () => {
    const after = jest.fn();
    await bus.subscribe('room:1', () => {
      throw new Error('handler bug');
    });
    await bus.subscribe('room:1', after);

    await expect(bus.publish('room:1', { n: 1 })).resolves.toBeUndefined();

    expect(after).toHaveBeenCalledTimes(1);
    expect(logger.error).toHaveBeenCalledWith(
      expect.stringContaining('handler bug'),
      expect.any(String),
    );
  });

  it('lets a handler publish and unsubscribe while a message is being delivered', async () => {
    const seen: string[] = [];
    const unsubscribe = await bus.subscribe('room:1', async (message: BusMessage) => {
      seen.push(message.channel);
      unsubscribe();
      await bus.publish('room:2', { echo: true });
    });
    await bus.subscribe('room:2', (message) => {
      seen.push(message.channel);
    });

    await bus.publish('room:1', { n: 1 });
    await bus.publish('room:1', { n: 2 });

    expect(seen).toEqual(['room:1', 'room:2']);
  });
});
