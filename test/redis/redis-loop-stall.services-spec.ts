import { randomBytes } from 'node:crypto';
import { LoggerService } from '@nestjs/common';
import { RedisConnection, RedisUnavailableError } from '@libs/redis';
import { RedisServerProcess } from '@test/support/redis-server-process';
import { requireTestRedisUrl } from '@test/support/test-redis';
import { waitUntil } from '@test/support/wait-until';

const COMMANDS = 30;
const STALL_MS = 500;

/** Holds this process's event loop, as a big fan-out or a long GC would. */
function stallEventLoop(ms: number): void {
  const until = performance.now() + ms;
  let spins = 0;
  while (performance.now() < until) {
    spins += 1;
  }
  expect(spins).toBeGreaterThan(0);
}

function quietLogger(): LoggerService {
  return { log: jest.fn(), warn: jest.fn(), error: jest.fn() };
}

/**
 * The command timeout measures Redis, not our own event loop: replies that arrived while the loop
 * was busy are answers, not timeouts, so a stall of this process never opens the circuit. A Redis
 * that really stops answering (SIGSTOP) still fails commands and opens it within a few timeouts.
 */
describe('RedisConnection under an event-loop stall (services)', () => {
  let server: RedisServerProcess;
  let connection: RedisConnection | undefined;
  const keyPrefix = `switchboard-test-stall-${randomBytes(4).toString('hex')}:`;

  /** A connection on the private server, and every availability change it reports. */
  async function connect(): Promise<{ connection: RedisConnection; changes: boolean[] }> {
    const opened = new RedisConnection({ url: server.url, keyPrefix, logger: quietLogger() });
    connection = opened;
    await opened.connect();
    expect(opened.available).toBe(true);
    const changes: boolean[] = [];
    opened.onAvailabilityChange(() => changes.push(opened.available));
    return { connection: opened, changes };
  }

  beforeAll(async () => {
    requireTestRedisUrl();
    server = await RedisServerProcess.start();
  });

  afterEach(async () => {
    server.resume();
    await connection?.close();
    connection = undefined;
  });

  afterAll(async () => {
    await server?.stop();
  });

  it(`a ${STALL_MS} ms stall with commands in flight times none out and leaves the circuit closed`, async () => {
    const { connection, changes } = await connect();
    const key = (index: number) => `${keyPrefix}stall:${index}`;

    const inFlight = [
      ...Array.from({ length: COMMANDS }, (_, index) =>
        connection.run((client) => client.set(key(index), String(index))),
      ),
      connection.run((client) => client.publish(`${keyPrefix}relay`, 'to the other instances')),
      connection.run((client) =>
        client
          .pipeline()
          .incr(key(COMMANDS))
          .incr(key(COMMANDS))
          .exec()
          .then(() => 'OK'),
      ),
    ];
    stallEventLoop(STALL_MS);
    const outcomes = await Promise.allSettled(inFlight);

    const failures = outcomes.flatMap((outcome) =>
      outcome.status === 'rejected' ? [(outcome.reason as Error).message] : [],
    );
    expect(failures).toEqual([]);
    expect(changes).toEqual([]);
    expect(connection.available).toBe(true);
    // Positive control: the commands reached Redis, and the connection still serves.
    const stored = await connection.run((client) =>
      client.mget(Array.from({ length: COMMANDS + 1 }, (_, index) => key(index))),
    );
    expect(stored).toEqual([...Array.from({ length: COMMANDS }, (_, index) => String(index)), '2']);
  });

  it('a Redis frozen with SIGSTOP fails commands and opens the circuit fast; SIGCONT closes it', async () => {
    const { connection, changes } = await connect();

    server.pause();
    const started = performance.now();
    const outcomes = await Promise.allSettled(
      Array.from({ length: 3 }, (_, index) =>
        connection.run((client) => client.get(`${keyPrefix}frozen:${index}`)),
      ),
    );
    const elapsedMs = performance.now() - started;

    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const outcome of outcomes) {
      expect((outcome as PromiseRejectedResult).reason).toEqual(
        expect.objectContaining({ message: 'Command timed out' }),
      );
    }
    expect(connection.available).toBe(false);
    expect(changes).toContain(false);
    // A few command timeouts, not seconds.
    expect(elapsedMs).toBeLessThan(1_000);
    await expect(connection.run((client) => client.ping())).rejects.toThrow(RedisUnavailableError);

    server.resume();
    await waitUntil(() => connection.available, 5_000, 'the circuit to close after SIGCONT');
    await expect(connection.run((client) => client.ping())).resolves.toBe('PONG');
  });
});
