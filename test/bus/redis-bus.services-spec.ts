import { randomBytes } from 'node:crypto';
import { Logger, LoggerService } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import Redis from 'ioredis';
import { BusMessage, BusModule, BusUnavailableError, MessageBus, RedisTransport } from '@libs/bus';
import { RedisConnection, RedisModule } from '@libs/redis';
import { RedisServerProcess } from '@test/support/redis-server-process';
import { requireTestRedisUrl } from '@test/support/test-redis';
import { sleep, waitUntil } from '@test/support/wait-until';

const DELIVERY_TIMEOUT_MS = 5000;
/** After the expected messages arrived: how long a duplicate gets to show up. */
const SETTLE_MS = 200;

/** The messages one subscription received, parsed. */
class Inbox {
  readonly messages: unknown[] = [];
  readonly handler = (message: BusMessage) => {
    this.messages.push(message.json());
  };

  async waitFor(count: number, what: string): Promise<void> {
    await waitUntil(() => this.messages.length >= count, DELIVERY_TIMEOUT_MS, what);
  }
}

function uniquePrefix(): string {
  return `switchboard-test-bus-${randomBytes(4).toString('hex')}:`;
}

function recordingLogger(): jest.Mocked<LoggerService> {
  return { log: jest.fn(), warn: jest.fn(), error: jest.fn() };
}

describe('MessageBus on Redis: two instances', () => {
  let redisUrl: string;
  let keyPrefix: string;
  let inspector: Redis;
  const instances: TestingModule[] = [];

  /** One application's bus, wired as the app wires it: RedisModule + BusModule. */
  async function startInstance(prefix = keyPrefix): Promise<TestingModule> {
    const moduleRef = await Test.createTestingModule({
      imports: [RedisModule.forRoot({ url: redisUrl, keyPrefix: prefix }), BusModule],
    }).compile();
    instances.push(moduleRef);
    await moduleRef.init();
    expect(moduleRef.get(MessageBus).status()).toMatchObject({ transport: 'redis', healthy: true });
    return moduleRef;
  }

  async function subscribers(channel: string, prefix = keyPrefix): Promise<number> {
    const [, count] = (await inspector.pubsub('NUMSUB', prefix + channel)) as [string, number];
    return Number(count);
  }

  beforeAll(() => {
    redisUrl = requireTestRedisUrl();
    keyPrefix = uniquePrefix();
    inspector = new Redis(redisUrl, { lazyConnect: true });
    Logger.overrideLogger(false);
  });

  afterAll(async () => {
    await Promise.all(instances.map((moduleRef) => moduleRef.close()));
    inspector.disconnect();
  });

  it('delivers each message once to the subscribers of both instances', async () => {
    const busA = (await startInstance()).get(MessageBus);
    const busB = (await startInstance()).get(MessageBus);
    const inboxA = new Inbox();
    const inboxB = new Inbox();
    await busA.subscribe('room:shared', inboxA.handler);
    await busB.subscribe('room:shared', inboxB.handler);

    await busA.publish('room:shared', { from: 'A' });
    await busB.publish('room:shared', { from: 'B' });
    await inboxA.waitFor(2, 'both messages on A');
    await inboxB.waitFor(2, 'both messages on B');
    await sleep(SETTLE_MS);

    expect(inboxA.messages).toEqual([{ from: 'A' }, { from: 'B' }]);
    expect(inboxB.messages).toEqual([{ from: 'A' }, { from: 'B' }]);
  });

  it('hands a published Buffer over byte for byte', async () => {
    const busA = (await startInstance()).get(MessageBus);
    const busB = (await startInstance()).get(MessageBus);
    const received: Buffer[] = [];
    await busB.subscribe('room:bytes', (message) => {
      received.push(message.data);
    });
    const bytes = Buffer.from('{"event":"message","data":{"body":"é\\u0000"}}');

    await busA.publish('room:bytes', bytes);
    await waitUntil(() => received.length > 0, DELIVERY_TIMEOUT_MS, 'the Buffer on B');

    expect(received[0].equals(bytes)).toBe(true);
  });

  it('keeps instances with another key prefix apart', async () => {
    const busA = (await startInstance()).get(MessageBus);
    const busB = (await startInstance()).get(MessageBus);
    const otherPrefix = uniquePrefix();
    const busC = (await startInstance(otherPrefix)).get(MessageBus);
    const inboxB = new Inbox();
    const inboxC = new Inbox();
    await busB.subscribe('room:prefixed', inboxB.handler);
    await busC.subscribe('room:prefixed', inboxC.handler);

    await busA.publish('room:prefixed', { to: 'same prefix' });
    await busC.publish('room:prefixed', { to: 'other prefix' });
    await inboxB.waitFor(1, 'the message on B');
    await inboxC.waitFor(1, 'the message on C');
    await sleep(SETTLE_MS);

    expect(inboxB.messages).toEqual([{ to: 'same prefix' }]);
    expect(inboxC.messages).toEqual([{ to: 'other prefix' }]);
    expect(await subscribers('room:prefixed')).toBe(1);
    expect(await subscribers('room:prefixed', otherPrefix)).toBe(1);
  });

  it('holds one Redis subscription per channel and instance, dropped with the last subscriber', async () => {
    const busA = (await startInstance()).get(MessageBus);
    const busB = (await startInstance()).get(MessageBus);
    const unsubscribeA1 = await busA.subscribe('room:counted', () => undefined);
    const unsubscribeA2 = await busA.subscribe('room:counted', () => undefined);
    const unsubscribeB = await busB.subscribe('room:counted', () => undefined);
    expect(await subscribers('room:counted')).toBe(2);

    unsubscribeA1();
    await sleep(SETTLE_MS);
    expect(await subscribers('room:counted')).toBe(2);

    unsubscribeA2();
    unsubscribeB();
    await waitUntil(
      async () => (await subscribers('room:counted')) === 0,
      DELIVERY_TIMEOUT_MS,
      'no Redis subscriber left on the channel',
    );
  });

  it('quits its connections when the module is destroyed', async () => {
    const moduleRef = await startInstance();
    const bus = moduleRef.get(MessageBus);
    await bus.subscribe('room:closing', () => undefined);
    expect(await subscribers('room:closing')).toBe(1);

    await moduleRef.close();
    instances.splice(instances.indexOf(moduleRef), 1);

    expect(await subscribers('room:closing')).toBe(0);
    expect(bus.isHealthy()).toBe(false);
    await expect(bus.publish('room:closing', {})).rejects.toThrow(BusUnavailableError);
  });
});

describe('MessageBus on Redis: a Redis restart', () => {
  const keyPrefix = uniquePrefix();
  let server: RedisServerProcess | undefined;
  const buses: MessageBus[] = [];
  const connections: RedisConnection[] = [];

  /** One instance's bus on its own connection (quiet: the bus's logger is the one under test). */
  function startBus(logger: LoggerService): MessageBus {
    const connection = new RedisConnection({
      url: server!.url,
      keyPrefix,
      logger: recordingLogger(),
    });
    connections.push(connection);
    const bus = new MessageBus(new RedisTransport({ connection, logger }), logger);
    buses.push(bus);
    return bus;
  }

  beforeAll(async () => {
    // A service suite: it fails, never skips, outside `npm run test:services`.
    requireTestRedisUrl();
    server = await RedisServerProcess.start();
  });

  afterAll(async () => {
    await Promise.all(buses.map((bus) => bus.onApplicationShutdown()));
    await Promise.all(connections.map((connection) => connection.close()));
    await server?.stop();
  });

  it('fails publishes fast while Redis is down, then reconnects and resubscribes by itself', async () => {
    const loggerA = recordingLogger();
    const loggerB = recordingLogger();
    const busA = startBus(loggerA);
    const busB = startBus(loggerB);
    await Promise.all([busA.onModuleInit(), busB.onModuleInit()]);
    expect(busA.isHealthy() && busB.isHealthy()).toBe(true);

    const kept = new Inbox();
    const dropped = new Inbox();
    const addedDuringOutage = new Inbox();
    await busB.subscribe('room:kept', kept.handler);
    const unsubscribeDropped = await busB.subscribe('room:dropped', dropped.handler);
    await busA.publish('room:kept', { n: 'before' });
    await kept.waitFor(1, 'the message before the restart');

    await server!.stop();
    await waitUntil(
      () => !busA.isHealthy() && !busB.isHealthy(),
      DELIVERY_TIMEOUT_MS,
      'both buses to notice that Redis is gone',
    );

    const startedAt = Date.now();
    const publishing = busA.publish('room:kept', { n: 'during' });
    await expect(publishing).rejects.toThrow(BusUnavailableError);
    // The reason ioredis gave is added when the shared connection had not yet noticed (a race of
    // the two health views): "(Stream isn't writeable …)". Either way it failed fast, saying why.
    await expect(publishing).rejects.toThrow(
      /^Message bus unavailable \(Redis at 127\.0\.0\.1:\d+ is unreachable since .+, reconnecting\): "room:kept" was not published( \(.+\))?$/,
    );
    expect(Date.now() - startedAt).toBeLessThan(100);

    // Subscriptions change while Redis is away; the bus must carry them over.
    await busB.subscribe('room:added', addedDuringOutage.handler);
    unsubscribeDropped();
    // Several reconnection attempts fail meanwhile.
    await sleep(1500);
    expect(busA.status()).toMatchObject({
      transport: 'redis',
      healthy: false,
      downSince: expect.any(String),
      reconnects: 0,
    });

    await server!.start();
    await waitUntil(
      () => busA.isHealthy() && busB.isHealthy(),
      15_000,
      'both buses to reconnect and resubscribe',
    );

    const inspector = new Redis(server!.url);
    try {
      const channels = await inspector.pubsub('CHANNELS', `${keyPrefix}*`);
      expect([...(channels as string[])].sort()).toEqual([
        `${keyPrefix}room:added`,
        `${keyPrefix}room:kept`,
      ]);
    } finally {
      inspector.disconnect();
    }

    await busA.publish('room:kept', { n: 'after' });
    await busA.publish('room:added', { n: 'after' });
    await busA.publish('room:dropped', { n: 'after' });
    await kept.waitFor(2, 'the message after the restart');
    await addedDuringOutage.waitFor(1, 'the message on the channel added during the outage');
    await sleep(SETTLE_MS);

    expect(kept.messages).toEqual([{ n: 'before' }, { n: 'after' }]);
    expect(addedDuringOutage.messages).toEqual([{ n: 'after' }]);
    expect(dropped.messages).toEqual([]);

    for (const [bus, logger] of [
      [busA, loggerA],
      [busB, loggerB],
    ] as const) {
      expect(bus.status()).toMatchObject({ healthy: true, reconnects: 1 });
      expect(bus.status().downSince).toBeUndefined();
      // One warning for the whole outage, however many attempts failed.
      expect(logger.warn).toHaveBeenCalledTimes(1);
      expect(logger.warn).toHaveBeenCalledWith(expect.stringMatching(/^Lost the Redis bus at /));
      expect(logger.log).toHaveBeenCalledWith(
        expect.stringMatching(/^Reconnected to the Redis bus at .+ after \d+ ms/),
      );
      expect(logger.error).not.toHaveBeenCalled();
    }
  });
});
