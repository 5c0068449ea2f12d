import { Test } from '@nestjs/testing';
import { RedisModule } from '@libs/redis';
import { BusModule } from './bus.module';
import { MessageBus } from './message-bus';

async function compileWith(redisUrl?: string) {
  const redis = redisUrl ? { url: redisUrl, keyPrefix: 'switchboard-test:' } : undefined;
  return Test.createTestingModule({ imports: [RedisModule.forRoot(redis), BusModule] }).compile();
}

describe(BusModule.name, () => {
  it('provides the in-process bus without a Redis connection', async () => {
    const moduleRef = await compileWith();

    expect(moduleRef.get(MessageBus).status().transport).toBe('in-process');
    await moduleRef.close();
  });

  it('provides the Redis bus on the Redis connection, without connecting before init', async () => {
    const moduleRef = await compileWith('redis://127.0.0.1:1');
    const bus = moduleRef.get(MessageBus);

    expect(bus.status()).toMatchObject({ transport: 'redis', healthy: false });
    await moduleRef.close();
  });
});
