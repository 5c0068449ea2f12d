import { Test } from '@nestjs/testing';
import { ConfigModule, loadConfig } from '@config';
import { BusModule } from './bus.module';
import { MessageBus } from './message-bus';

async function compileWith(environment: Record<string, string>) {
  const config = loadConfig({ NODE_ENV: 'test', ...environment });
  return Test.createTestingModule({ imports: [ConfigModule.forRoot(config), BusModule] }).compile();
}

describe(BusModule.name, () => {
  it('provides the in-process bus when REDIS_URL is not set', async () => {
    const moduleRef = await compileWith({});

    expect(moduleRef.get(MessageBus).status().transport).toBe('in-process');
    await moduleRef.close();
  });

  it('provides the Redis bus when REDIS_URL is set, without connecting before init', async () => {
    const moduleRef = await compileWith({ REDIS_URL: 'redis://127.0.0.1:1' });
    const bus = moduleRef.get(MessageBus);

    expect(bus.status()).toMatchObject({ transport: 'redis', healthy: false });
    await moduleRef.close();
  });
});
