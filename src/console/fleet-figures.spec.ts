import { InProcessTransport, MessageBus } from '@libs/bus';
import { FleetView } from '@libs/protocol';
import { AppConfig, loadConfig } from '@config';
import { MetricsService } from '@app/metrics/metrics.service';
import type { UsersService } from '@app/users/users.service';
import { ConsoleOperators } from './console-operators';
import { FIGURES_CHANNEL, FleetFigures } from './fleet-figures';

const INTERVAL_MS = 250;

describe(FleetFigures.name, () => {
  const config: AppConfig = loadConfig({
    CONSOLE_USERS: 'ops',
    CONSOLE_REPORT_INTERVAL_MS: String(INTERVAL_MS),
  });
  // Operators are not looked up here: only whether the console is on.
  const operators = new ConsoleOperators(config, {} as UsersService);
  let bus: MessageBus;
  let instances: FleetFigures[];

  const anInstance = () => new FleetFigures(new MetricsService(), bus, operators, config);

  beforeEach(async () => {
    bus = new MessageBus(new InProcessTransport());
    instances = [anInstance(), anInstance()];
    await Promise.all(instances.map((instance) => instance.onApplicationBootstrap()));
  });

  afterEach(() => instances.forEach((instance) => instance.onModuleDestroy()));

  it('each instance shows every instance of the bus, itself included', () => {
    const ids = instances.map((instance) => instance.identity.instanceId).sort();

    for (const instance of instances) {
      const view = instance.view();
      expect(view.instances.map((figures) => figures.instanceId)).toEqual(ids);
      expect(view.instances.every((figures) => !figures.stale)).toBe(true);
    }
  });

  it('marks an instance silent for three intervals stale, and drops it after ten', () => {
    const [observer] = instances;
    const now = Date.now();

    expect(observer.view(now + 4 * INTERVAL_MS).instances.map((i) => i.stale)).toEqual([
      true,
      true,
    ]);
    expect(observer.liveInstances()).toHaveLength(2);
    expect(observer.view(now + 11 * INTERVAL_MS).instances).toEqual([]);
  });

  it('ignores and counts a report it cannot read, and keeps the others', async () => {
    const [observer] = instances;

    await bus.publish(FIGURES_CHANNEL, { instanceId: 'x', connections: 'many' });
    await bus.publish(FIGURES_CHANNEL, Buffer.from('not json'));

    expect(observer.reportsUnreadable).toBe(2);
    expect(observer.view().instances).toHaveLength(2);
  });

  it('sends watchers the view after reports, and forgets a watcher that answers false', async () => {
    const [observer] = instances;
    const seen: FleetView[] = [];
    let open = true;
    observer.watch((view) => {
      seen.push(view);
      return open;
    });

    await waitFor(() => seen.length >= 1);
    open = false;
    await waitFor(() => observer.watcherCount === 0);
    const count = seen.length;
    await new Promise((resolve) => setTimeout(resolve, 2 * INTERVAL_MS));

    expect(seen[0].instances).toHaveLength(2);
    expect(seen).toHaveLength(count);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error('timed out');
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
