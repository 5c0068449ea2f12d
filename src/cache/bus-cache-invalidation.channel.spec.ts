import { Logger } from '@nestjs/common';
import { BusUnavailableError, InProcessTransport, MessageBus } from '@libs/bus';
import { CacheInvalidation } from '@libs/cache';
import {
  BusCacheInvalidationChannel,
  CACHE_INVALIDATION_BUS_CHANNEL,
  CACHE_INVALIDATION_PUBLISH_TIMEOUT_MS,
} from './bus-cache-invalidation.channel';

const invalidation: CacheInvalidation = { tags: ['room:1:messages'], origin: 'instance-a' };

/** Lets the bus's subscription promise settle. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe(BusCacheInvalidationChannel.name, () => {
  let bus: MessageBus;
  let channel: BusCacheInvalidationChannel;

  beforeEach(() => {
    bus = new MessageBus(new InProcessTransport(), {
      log: jest.fn(),
      warn: jest.fn(),
      error: jest.fn(),
    });
    channel = new BusCacheInvalidationChannel(bus);
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('delivers a published invalidation to the listeners, until they stop', async () => {
    const listener = jest.fn();
    const stop = channel.onInvalidate(listener);
    await settle();

    await channel.publish(invalidation);
    stop();
    await settle();
    await channel.publish(invalidation);

    expect(listener).toHaveBeenCalledTimes(1);
    expect(listener).toHaveBeenCalledWith(invalidation);
  });

  it('ignores a message on its channel that is not an invalidation', async () => {
    const listener = jest.fn();
    channel.onInvalidate(listener);
    await settle();

    await bus.publish(CACHE_INVALIDATION_BUS_CHANNEL, { tags: 'room:1' });

    expect(listener).not.toHaveBeenCalled();
  });

  it('fails fast when the bus is unavailable', async () => {
    jest.spyOn(bus, 'publish').mockRejectedValue(new BusUnavailableError('Redis is down'));

    await expect(channel.publish(invalidation)).rejects.toBeInstanceOf(BusUnavailableError);
  });

  it('gives up on a bus that does not answer after the publish timeout', async () => {
    jest.spyOn(bus, 'publish').mockReturnValue(new Promise<void>(() => undefined));
    const started = Date.now();

    await expect(channel.publish(invalidation)).rejects.toThrow(/did not take/);

    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(CACHE_INVALIDATION_PUBLISH_TIMEOUT_MS - 10);
    expect(elapsed).toBeLessThan(CACHE_INVALIDATION_PUBLISH_TIMEOUT_MS + 500);
  });

  it('logs, and does not throw, when the bus refuses the subscription', async () => {
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    jest.spyOn(bus, 'subscribe').mockRejectedValue(new BusUnavailableError('closed'));

    const stop = channel.onInvalidate(jest.fn());
    await settle();
    stop();

    expect(error).toHaveBeenCalledWith(expect.stringContaining(CACHE_INVALIDATION_BUS_CHANNEL));
  });
});
