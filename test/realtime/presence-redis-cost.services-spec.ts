import { randomUUID } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { PresenceStatus } from '@libs/protocol';
import { RedisConnection } from '@libs/redis';
import { LocalPresence, PRESENCE_BATCH, RedisPresenceStore } from '@app/realtime/presence-store';
import { RedisServerProcess } from '@test/support/redis-server-process';
import { requireTestRedisUrl } from '@test/support/test-redis';
import { sleep } from '@test/support/wait-until';

/** Issue 20's load: 15,000 sockets on one instance, each in 3 of 100 rooms. */
const CONNECTIONS = 15_000;
const ROOMS_PER_CONNECTION = 3;
const ROOMS = 100;
const PAIRS = CONNECTIONS * ROOMS_PER_CONNECTION;
/** One presence cycle: the old refresh interval (30 s) of one-second instance heartbeats. */
const BEATS_PER_CYCLE = 30;
/** Short, so that the test need not wait 4 s for an instance to count as dead. */
const INSTANCE_TTL_MS = 2_000;
/** Beats to reap or restore 45,000 pairs at 20 calls of 500 a beat, with room to spare. */
const MAX_BEATS_TO_SETTLE = 10;
/** Joins sent at once while the pairs are entered (as many sockets joining together). */
const JOIN_CONCURRENCY = 100;

/** The (room, user) pairs of 15,000 connections in 3 rooms each; one instance holds those it entered. */
class HeldPairs implements LocalPresence {
  readonly all: (readonly [string, string])[] = [];
  private readonly held: (readonly [string, string])[] = [];
  private readonly keys = new Set<string>();

  constructor(connections: number) {
    const rooms = Array.from({ length: ROOMS }, () => randomUUID());
    for (let index = 0; index < connections; index += 1) {
      const userId = randomUUID();
      for (let room = 0; room < ROOMS_PER_CONNECTION; room += 1) {
        this.all.push([rooms[(index + room * 7) % ROOMS], userId]);
      }
    }
  }

  /** A connection joined: the registry has it before presence hears of it. */
  add(pair: readonly [string, string]): void {
    this.held.push(pair);
    this.keys.add(pair.join(':'));
  }

  holds(roomId: string, userId: string): boolean {
    return this.keys.has(`${roomId}:${userId}`);
  }

  pairs(): Iterable<readonly [string, string]> {
    return this.held;
  }
}

/**
 * What presence asks of the shared connection: commands, the most sent in one turn of the
 * event loop (a pipeline's size), and the most pairs one presence script call carried.
 */
function meterCommands(connection: RedisConnection) {
  const client = connection.client;
  const send = client.sendCommand.bind(client);
  const meter = { sent: 0, largestTurn: 0, pairCalls: 0, largestScriptPairs: 0 };
  let thisTurn = 0;
  jest.spyOn(client, 'sendCommand').mockImplementation((...args: Parameters<typeof send>) => {
    const [command] = args;
    if (command.name === 'ping') {
      // The probe of slowestPingDuring, not presence.
      return send(...args);
    }
    meter.sent += 1;
    if (thisTurn === 0) {
      setImmediate(() => (thisTurn = 0));
    }
    thisTurn += 1;
    meter.largestTurn = Math.max(meter.largestTurn, thisTurn);
    // An apply call: KEYS alive and a life's `held:` set; ARGV prefix, life, then (pair, present)…
    if (command.name === 'evalsha' && String(command.args[3]).includes(':held:')) {
      meter.pairCalls += 1;
      const pairs = (command.args.length - 6) / 2;
      meter.largestScriptPairs = Math.max(meter.largestScriptPairs, pairs);
    }
    return send(...args);
  });
  return {
    reset() {
      Object.assign(meter, { sent: 0, largestTurn: 0, pairCalls: 0, largestScriptPairs: 0 });
    },
    read: () => ({ ...meter }),
  };
}

/** Runs `work` while a PING goes through the shared connection every 5 ms: the slowest answer. */
async function slowestPingDuring<T>(connection: RedisConnection, work: () => Promise<T>) {
  let slowestMs = 0;
  let done = false;
  const pinging = (async () => {
    while (!done) {
      const sentAt = performance.now();
      await connection.run((client) => client.ping()).catch(() => undefined);
      slowestMs = Math.max(slowestMs, performance.now() - sentAt);
      await sleep(5);
    }
  })();
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  try {
    return { result: await work(), slowestPingMs: slowestMs, stallMs: loop.max / 1e6 };
  } finally {
    done = true;
    loop.disable();
    await pinging;
  }
}

/** Beats `stores` in turn, as their timers would, until the returned function is called. */
function keepBeating(stores: RedisPresenceStore[]): () => Promise<void> {
  let stopped = false;
  const beating = (async () => {
    while (!stopped) {
      for (const store of stores) {
        await store.beat();
      }
      await sleep(INSTANCE_TTL_MS / 4);
    }
  })();
  return async () => {
    stopped = true;
    await beating;
  };
}

/** Commands Redis ran (those inside scripts included), from INFO commandstats. */
async function redisCommandsRun(client: RedisConnection['client']): Promise<number> {
  const info = await client.info('commandstats');
  return [...info.matchAll(/calls=(\d+)/g)].reduce((sum, match) => sum + Number(match[1]), 0);
}

/**
 * Issue 20, measured: presence at 15,000 connections × 3 rooms on one instance, beside a
 * survivor, on a redis-server of the suite's own. Redis is written once per (room, user) when it
 * is entered; a heartbeat costs the same at 45,000 pairs as at none; taken for dead, the pairs are
 * reaped and put back in batches of at most 500, and no turn of the event loop sends a pipeline.
 * The figures are printed; the bounds asserted are what does not depend on the machine's load.
 */
describe('presence Redis cost at 15,000 connections × 3 rooms (services)', () => {
  let redis: RedisServerProcess;
  const connections: RedisConnection[] = [];

  const connect = async (keyPrefix: string) => {
    // A long command timeout: this counts commands, and a loaded machine must not fail it.
    const connection = new RedisConnection({ url: redis.url, keyPrefix, commandTimeoutMs: 5_000 });
    connections.push(connection);
    await connection.connect();
    return connection;
  };

  beforeAll(async () => {
    requireTestRedisUrl();
    redis = await RedisServerProcess.start();
  });

  afterAll(async () => {
    jest.restoreAllMocks();
    await Promise.all(connections.map((connection) => connection.close()));
    await redis?.stop();
  });

  it('costs one script call per pair entered, a constant per beat, and bounded batches when reaped and restored', async () => {
    // Two instances of one fleet: one key prefix, a connection each.
    const keyPrefix = `presence-cost-${randomUUID()}:`;
    const instanceConnection = await connect(keyPrefix);
    const survivorConnection = await connect(keyPrefix);
    const held = new HeldPairs(CONNECTIONS);
    const options = { heartbeatIntervalMs: 1_000, instanceTtlMs: INSTANCE_TTL_MS };
    const instance = new RedisPresenceStore(instanceConnection, 'instance', held, options);
    const survivor = new RedisPresenceStore(
      survivorConnection,
      'survivor',
      new HeldPairs(0),
      options,
    );
    const heard = (store: RedisPresenceStore) => {
      const counts: Record<PresenceStatus, number> = { online: 0, offline: 0 };
      store.onChange((_roomId, _userId, status) => (counts[status] += 1));
      return counts;
    };
    const heardBySurvivor = heard(survivor);
    const heardByInstance = heard(instance);
    const meter = meterCommands(instanceConnection);
    const figures: Record<string, unknown> = {};
    await instance.beat();
    await survivor.beat();

    // Every pair entered, as 15,000 sockets joining 3 rooms each would.
    meter.reset();
    let online = 0;
    // Both beat meanwhile: entering takes longer than their TTL here.
    const stopBeating = keepBeating([instance, survivor]);
    try {
      for (let start = 0; start < PAIRS; start += JOIN_CONCURRENCY) {
        const joins = held.all.slice(start, start + JOIN_CONCURRENCY).map((pair) => {
          held.add(pair);
          return instance.enter(...pair);
        });
        online += (await Promise.all(joins)).filter(Boolean).length;
      }
    } finally {
      await stopBeating();
    }
    expect(online).toBe(PAIRS);
    const entering = meter.read();
    expect(entering.pairCalls).toBe(PAIRS);
    expect(entering.largestScriptPairs).toBe(1);
    figures.enter = { pairs: PAIRS, scriptCalls: entering.pairCalls, commandsSent: entering.sent };

    // One presence cycle: 30 heartbeats of each instance.
    meter.reset();
    const redisBefore = await redisCommandsRun(instanceConnection.client);
    const cycle = await slowestPingDuring(instanceConnection, async () => {
      for (let beat = 0; beat < BEATS_PER_CYCLE; beat += 1) {
        // One after the other: the instance is due again before the survivor looks.
        await instance.beat();
        await survivor.beat();
      }
    });
    const cycleSent = meter.read();
    figures.cycle = {
      commandsSentByTheInstance: cycleSent.sent,
      commandsRedisRan: (await redisCommandsRun(instanceConnection.client)) - redisBefore - 1,
      largestTurn: cycleSent.largestTurn,
      slowestPingMs: Math.round(cycle.slowestPingMs),
      eventLoopStallMs: Math.round(cycle.stallMs),
    };
    // MULTI, ZSCORE, ZADD, EXEC and a reaping call a beat, whatever the number of pairs.
    expect(cycleSent.sent).toBeLessThanOrEqual(BEATS_PER_CYCLE * 6);
    expect(cycleSent.largestTurn).toBeLessThanOrEqual(5);

    // Taken for dead: the instance stops beating, the survivor reaps every pair, offline once.
    await sleep(INSTANCE_TTL_MS + 100);
    const reaping = await slowestPingDuring(survivorConnection, async () => {
      let beats = 0;
      while (heardBySurvivor.offline < PAIRS && beats < MAX_BEATS_TO_SETTLE) {
        await survivor.beat();
        beats += 1;
      }
      return beats;
    });
    expect(heardBySurvivor.offline).toBe(PAIRS);
    figures.reap = {
      beats: reaping.result,
      slowestPingMs: Math.round(reaping.slowestPingMs),
      eventLoopStallMs: Math.round(reaping.stallMs),
    };

    // Back: a new life, every pair put back in batches, online where it is first again.
    meter.reset();
    const restoring = await slowestPingDuring(instanceConnection, async () => {
      let beats = 0;
      while (heardByInstance.online < PAIRS && beats < MAX_BEATS_TO_SETTLE) {
        await instance.beat();
        beats += 1;
      }
      return beats;
    });
    const restoreSent = meter.read();
    expect(heardByInstance.online).toBe(PAIRS);
    expect(restoreSent.largestScriptPairs).toBe(PRESENCE_BATCH);
    expect(restoreSent.largestTurn).toBeLessThanOrEqual(5);
    figures.restore = {
      beats: restoring.result,
      commandsSent: restoreSent.sent,
      largestScriptPairs: restoreSent.largestScriptPairs,
      largestTurn: restoreSent.largestTurn,
      slowestPingMs: Math.round(restoring.slowestPingMs),
      eventLoopStallMs: Math.round(restoring.stallMs),
    };
    // Nothing more: a survivor sees no offline, the instance no second online.
    await survivor.beat();
    await instance.beat();
    expect(heardBySurvivor.offline).toBe(PAIRS);
    expect(heardByInstance.online).toBe(PAIRS);

    process.stdout.write(`presence Redis cost, ${PAIRS} pairs: ${JSON.stringify(figures)}\n`);
  });
});
