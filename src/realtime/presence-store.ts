import { createHash } from 'node:crypto';
import { Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { RedisCommands } from '@libs/redis';
import { ReplyError } from 'ioredis';
import { PresenceStatus } from '@libs/protocol';
import { RedisConnection } from '@libs/redis';

/**
 * A presence change the store found by itself, not through `enter`/`exit`: a dead instance's
 * users going offline, or this instance's users online again after it was taken for dead.
 */
export type PresenceChangeListener = (
  roomId: string,
  userId: string,
  status: PresenceStatus,
) => void;

/** What this instance holds: the truth the store puts back into Redis when Redis lost it. */
export interface LocalPresence {
  /** Some connection of the user on this instance is in the room. */
  holds(roomId: string, userId: string): boolean;
  /** Every (room, user) this instance holds (a pair may come more than once). */
  pairs(): Iterable<readonly [roomId: string, userId: string]>;
}

/**
 * Who is in which room across the fleet, counted per instance: this instance calls `enter` when
 * it gains its first connection of a user in a room and `exit` when it loses the last one. `enter`
 * says whether no other instance had the user there (→ online), `exit` whether none has any more
 * (→ offline). So Redis is written once per (room, user) and instance, never per connection.
 */
export abstract class PresenceStore {
  abstract enter(roomId: string, userId: string): Promise<boolean>;
  abstract exit(roomId: string, userId: string): Promise<boolean>;
  /** Calls `listener` for every change found by the store itself; returns what stops it. */
  abstract onChange(listener: PresenceChangeListener): () => void;
  /** Pairs the store keeps in memory to write again (its state that could grow). */
  abstract readonly pendingEntries: number;
}

/** One process: this instance's first and last connections are the fleet's. */
export class InMemoryPresenceStore extends PresenceStore {
  enter(): Promise<boolean> {
    return Promise.resolve(true);
  }

  exit(): Promise<boolean> {
    return Promise.resolve(true);
  }

  onChange(): () => void {
    return () => undefined;
  }

  get pendingEntries(): number {
    return 0;
  }
}

export interface RedisPresenceStoreOptions {
  /** How often this instance says it is alive. */
  heartbeatIntervalMs: number;
  /** An instance silent for this long is dead: a survivor takes its entries out. */
  instanceTtlMs: number;
}

/** How often an instance beats; how long it may stay silent comes from PRESENCE_INSTANCE_TTL_MS. */
export const PRESENCE_HEARTBEAT_INTERVAL_MS = 1_000;

/** (Room, user) pairs one script call writes or reaps at most: a short call, a short reply. */
export const PRESENCE_BATCH = 500;
/** Script calls per heartbeat at most, one after the other, within half a heartbeat's time. */
export const PRESENCE_CALLS_PER_TICK = 20;

/**
 * Applies this instance's changes, unless it was taken for dead (then nothing: it registers anew).
 * KEYS: the alive sorted set, this life's set of pairs. ARGV: the key prefix, this life's id, then
 * (pair, mode) for each pair: '1' present / '0' gone, reported when this call changed the fleet's
 * answer (first instance in, last out); '+' / '-' the same, reported from the state found (after
 * a write that timed out, which Redis may have run all the same and nobody announced).
 * Returns {1, pairs reported…}, or {0} when this life is not alive.
 */
const APPLY_SCRIPT = `
if not redis.call('ZSCORE', KEYS[1], ARGV[2]) then
  return {0}
end
local result = {1}
for index = 3, #ARGV, 2 do
  local pair = ARGV[index]
  local mode = ARGV[index + 1]
  local key = ARGV[1] .. 'in:' .. pair
  if mode == '1' or mode == '+' then
    redis.call('SADD', KEYS[2], pair)
    local added = redis.call('SADD', key, ARGV[2])
    if (added == 1 or mode == '+') and redis.call('SCARD', key) == 1 then
      table.insert(result, pair)
    end
  else
    redis.call('SREM', KEYS[2], pair)
    local removed = redis.call('SREM', key, ARGV[2])
    if (removed == 1 or mode == '-') and redis.call('SCARD', key) == 0 then
      table.insert(result, pair)
    end
  end
end
return result
`;

/**
 * Takes out a batch of one dead life's pairs. The first call claims it: out of the alive set (from
 * then on its writes are refused, so its set of pairs can only shrink) and into the reaping set,
 * which any survivor drains. Atomic: of several survivors each pair is taken by one, and only the
 * one that empties a (room, user) reports it.
 * KEYS: the alive sorted set, the reaping set. ARGV: now, the key prefix, batch size, own life.
 * Returns {0} when there is nothing to reap, else {1, pairs now offline…}.
 */
const REAP_SCRIPT = `
local dead = redis.call('SRANDMEMBER', KEYS[2])
if not dead then
  -- Never the caller's own life: it is running, only late.
  local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 2)
  dead = due[1] ~= ARGV[4] and due[1] or due[2]
  if not dead then
    return {0}
  end
  redis.call('ZREM', KEYS[1], dead)
  redis.call('SADD', KEYS[2], dead)
end
local heldKey = ARGV[2] .. 'held:' .. dead
local taken = redis.call('SPOP', heldKey, tonumber(ARGV[3]))
local result = {1}
for _, pair in ipairs(taken) do
  local key = ARGV[2] .. 'in:' .. pair
  if redis.call('SREM', key, dead) == 1 and redis.call('SCARD', key) == 0 then
    table.insert(result, pair)
  end
end
if redis.call('SCARD', heldKey) == 0 then
  redis.call('SREM', KEYS[2], dead)
end
return result
`;

/**
 * The fleet in Redis: per (room, user) the set of instance lives that hold it (`in:<room>:<user>`),
 * per life the set of its pairs (`held:<life>`), and `alive`, each life scored by when it is due.
 * Nothing is refreshed per connection: the pairs live as long as their instance beats (once a
 * second, one command), and a survivor reaps the pairs of a life that stopped, in bounded batches.
 *
 * A life is this instance's id and a generation. Taken for dead (frozen, or Redis lost its data)
 * and running again, the instance starts a new life and puts what it holds back, a batch at a
 * time, announcing `online` where it is the first again. A write that failed (Redis away) is
 * tried again on the next beats. All through the application's `RedisConnection`: while Redis is
 * unavailable, presence is not announced (it is best-effort, like live delivery).
 */
export class RedisPresenceStore
  extends PresenceStore
  implements OnModuleInit, OnApplicationShutdown
{
  private readonly logger = new Logger(RedisPresenceStore.name);
  private readonly prefix: string;
  private readonly aliveKey: string;
  private readonly reapingKey: string;
  private readonly listeners = new Set<PresenceChangeListener>();
  private generation = 1;
  private life: string;
  private registered = false;
  /** Pairs whose write failed: their Redis state may differ from what this instance holds. */
  private readonly pending = new Set<string>();
  /** After a new life began: what this instance holds, still to be put back. */
  private restoring: Iterator<readonly [string, string]> | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private beating = false;
  /** Survivors wait this long after Redis returns before reaping: every instance beats first. */
  private reapNotBefore = 0;
  private readonly stopWatching: () => void;

  constructor(
    private readonly connection: RedisConnection,
    /** This process among the fleet (the registry's id, which also tags what it publishes). */
    private readonly instanceId: string,
    private readonly local: LocalPresence,
    private readonly options: RedisPresenceStoreOptions,
  ) {
    super();
    // One slot on a cluster: the scripts claim a dead instance's pairs atomically.
    this.prefix = `${connection.slotGroup('presence')}presence:`;
    this.aliveKey = `${this.prefix}alive`;
    this.reapingKey = `${this.prefix}reaping`;
    this.life = `${instanceId}/${this.generation}`;
    this.stopWatching = connection.onAvailabilityChange(() => {
      if (!connection.available) {
        this.reapNotBefore = Infinity;
      } else if (this.reapNotBefore === Infinity) {
        this.reapNotBefore = Date.now() + options.instanceTtlMs;
      }
    });
  }

  onModuleInit(): void {
    this.heartbeatTimer = setInterval(() => void this.beat(), this.options.heartbeatIntervalMs);
    this.heartbeatTimer.unref();
    void this.beat();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.heartbeatTimer);
    this.stopWatching();
    // Due at once: a survivor takes out whatever this instance still holds.
    await this.connection
      .run((client) => client.zadd(this.aliveKey, 'XX', 0, this.life))
      .catch(() => undefined);
  }

  get pendingEntries(): number {
    return this.pending.size;
  }

  onChange(listener: PresenceChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  enter(roomId: string, userId: string): Promise<boolean> {
    return this.applyOne(pairOf(roomId, userId), true);
  }

  exit(roomId: string, userId: string): Promise<boolean> {
    return this.applyOne(pairOf(roomId, userId), false);
  }

  /** One heartbeat: alive (or a new life), failed writes retried, a restore and reaping moved on. */
  async beat(): Promise<void> {
    if (this.beating || !this.connection.available) {
      return;
    }
    this.beating = true;
    // Half a beat of work at most, so that the next one says alive on time.
    const workUntil = Date.now() + this.options.heartbeatIntervalMs / 2;
    try {
      await this.sayAlive();
      await this.catchUp(workUntil);
      if (Date.now() >= this.reapNotBefore) {
        await this.reap(workUntil);
      }
    } catch (error) {
      this.logger.debug(`Presence heartbeat failed: ${(error as Error).message}`);
    } finally {
      this.beating = false;
    }
  }

  private async applyOne(pair: string, present: boolean): Promise<boolean> {
    const changed = await this.apply([[pair, present ? '1' : '0']]);
    if (changed === undefined) {
      this.pending.add(pair);
      return false;
    }
    return changed.length > 0;
  }

  /** Writes `batch` under this life (see APPLY_SCRIPT); the pairs reported, or undefined. */
  private async apply(batch: (readonly [string, ApplyMode])[]): Promise<string[] | undefined> {
    const args: string[] = [this.prefix, this.life];
    for (const [pair, mode] of batch) {
      args.push(pair, mode);
    }
    try {
      const result = (await this.connection.run((client) =>
        runScript(client, APPLY_SCRIPT, [this.aliveKey, this.heldKey(this.life)], args),
      )) as (number | string)[];
      // Not alive: taken for dead; the next beat starts a new life and puts everything back.
      return result[0] === 1 ? (result.slice(1) as string[]) : undefined;
    } catch (error) {
      this.logger.debug(`Presence not updated: ${(error as Error).message}`);
      return undefined;
    }
  }

  /** Pushes this life's due time on; if it is gone (reaped, Redis emptied), starts a new one. */
  private async sayAlive(): Promise<void> {
    const dueAt = Date.now() + this.options.instanceTtlMs;
    const replies = await this.connection.run((client) =>
      client
        .multi()
        .zscore(this.aliveKey, this.life)
        .zadd(this.aliveKey, 'XX', dueAt, this.life)
        .exec(),
    );
    if (replies?.[0]?.[1] !== null) {
      return;
    }
    if (this.registered) {
      this.generation += 1;
      this.life = `${this.instanceId}/${this.generation}`;
      this.logger.warn('This instance was taken for dead: registering its presence again');
    }
    await this.connection.run((client) => client.zadd(this.aliveKey, dueAt, this.life));
    this.registered = true;
    // The old life's pairs are reaped (or gone): put back everything held, nothing else.
    this.pending.clear();
    this.restoring = this.local.pairs()[Symbol.iterator]();
  }

  /** Failed writes and a restore in progress, a bounded number of batches per beat. */
  private async catchUp(workUntil: number): Promise<void> {
    for (
      let call = 0;
      call < PRESENCE_CALLS_PER_TICK && (call === 0 || Date.now() < workUntil);
      call += 1
    ) {
      const batch = this.nextBatch();
      if (batch.length === 0) {
        return;
      }
      const changed = await this.apply(batch);
      if (changed === undefined) {
        for (const [pair] of batch) {
          this.pending.add(pair);
        }
        return;
      }
      const modes = new Map(batch);
      for (const pair of changed) {
        const mode = modes.get(pair);
        this.announce(pair, mode === '1' || mode === '+' ? 'online' : 'offline');
      }
    }
  }

  /**
   * Up to PRESENCE_BATCH pairs, each with what this instance holds now (read as it is sent):
   * failed writes first, reported from the state found; then the restore, reported on change
   * (a user with two connections in a room comes twice).
   */
  private nextBatch(): [string, ApplyMode][] {
    const batch: [string, ApplyMode][] = [];
    for (const pair of this.pending) {
      if (batch.length >= PRESENCE_BATCH) {
        break;
      }
      this.pending.delete(pair);
      batch.push([pair, this.local.holds(...splitPair(pair)) ? '+' : '-']);
    }
    while (this.restoring && batch.length < PRESENCE_BATCH) {
      const next = this.restoring.next();
      if (next.done) {
        this.restoring = undefined;
      } else if (this.local.holds(...next.value)) {
        batch.push([pairOf(...next.value), '1']);
      }
    }
    return batch;
  }

  private async reap(workUntil: number): Promise<void> {
    for (
      let call = 0;
      call < PRESENCE_CALLS_PER_TICK && (call === 0 || Date.now() < workUntil);
      call += 1
    ) {
      const result = (await this.connection.run((client) =>
        runScript(
          client,
          REAP_SCRIPT,
          [this.aliveKey, this.reapingKey],
          [String(Date.now()), this.prefix, String(PRESENCE_BATCH), this.life],
        ),
      )) as (number | string)[];
      for (const pair of result.slice(1)) {
        this.announce(String(pair), 'offline');
      }
      if (result[0] !== 1) {
        return;
      }
    }
  }

  private announce(pair: string, status: PresenceStatus): void {
    const [roomId, userId] = splitPair(pair);
    for (const listener of this.listeners) {
      try {
        listener(roomId, userId, status);
      } catch (error) {
        this.logger.error(`A presence listener failed: ${(error as Error).message}`);
      }
    }
  }

  private heldKey(life: string): string {
    return `${this.prefix}held:${life}`;
  }
}

/** How APPLY_SCRIPT writes a pair and when it reports it. */
type ApplyMode = '1' | '0' | '+' | '-';

/** A (room, user) pair as the scripts store it; ids are UUIDs, so ':' separates them. */
function pairOf(roomId: string, userId: string): string {
  return `${roomId}:${userId}`;
}

function splitPair(pair: string): [roomId: string, userId: string] {
  const at = pair.indexOf(':');
  return [pair.slice(0, at), pair.slice(at + 1)];
}

const scriptHashes = new Map<string, string>();

/** EVALSHA, and EVAL once when Redis does not know the script (first use, restart, flush). */
async function runScript(
  client: RedisCommands,
  script: string,
  keys: string[],
  args: string[],
): Promise<unknown> {
  let sha = scriptHashes.get(script);
  if (sha === undefined) {
    sha = createHash('sha1').update(script).digest('hex');
    scriptHashes.set(script, sha);
  }
  try {
    return await client.evalsha(sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (error instanceof ReplyError && (error as Error).message.startsWith('NOSCRIPT')) {
      return client.eval(script, keys.length, ...keys, ...args);
    }
    throw error;
  }
}
