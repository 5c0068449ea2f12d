import { Test } from '@nestjs/testing';
import { BusModule, BusModuleOptions } from './bus.module';
import { MessageBus } from './message-bus';

async function compileWith(options: BusModuleOptions) {
  return Test.createTestingModule({ imports: [BusModule.forRoot(options)] }).compile();
}

describe(BusModule.name, () => {
  it('provides the in-process bus without Redis options', async () => {
    const moduleRef = await compileWith({});

    expect(moduleRef.get(MessageBus).status().transport).toBe('in-process');
    await moduleRef.close();
  });

  it('provides the Redis bus with Redis options, without connecting before init', async () => {
    const moduleRef = await compileWith({
      redis: { url: 'redis://127.0.0.1:1', keyPrefix: 'switchboard-test:' },
    });
    const bus = moduleRef.get(MessageBus);

    expect(bus.status()).toMatchObject({ transport: 'redis', healthy: false });
    await moduleRef.close();
  });
});
