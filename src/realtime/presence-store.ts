import { Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { ChainableCommander } from 'ioredis';
import { RedisConnection } from '@libs/redis';

/** A connection that stops refreshing its presence (its instance died) counts as gone after this. */
export const PRESENCE_TTL_MS = 90_000;

/** A user's last connection in a room went away with its dead instance. */
export type PresenceExpiredListener = (roomId: string, userId: string) => void;

interface PresenceEntry {
  roomId: string;
  userId: string;
  connectionId: string;
}

/**
 * Who is in which room, counted per connection across the fleet. `enter` says whether this was
 * the user's first connection in the room (→ online), `exit` whether it was the last (→ offline):
 * a user with two connections is offline only when both are gone, on whatever instances.
 */
export abstract class PresenceStore {
  abstract enter(roomId: string, userId: string, connectionId: string): Promise<boolean>;
  abstract exit(roomId: string, userId: string, connectionId: string): Promise<boolean>;
  /** Keeps the entries of live connections from expiring (called on every heartbeat). */
  abstract refresh(entries: PresenceEntry[]): Promise<void>;
  /**
   * Calls `listener` once, fleet-wide, for each user whose last connection in a room was on an
   * instance that died (its connections never said goodbye); returns the function that stops it.
   */
  abstract onExpired(listener: PresenceExpiredListener): () => void;
}

/** One process: the counts are local, and no other instance can die under them. */
export class InMemoryPresenceStore extends PresenceStore {
  private readonly connections = new Map<string, Set<string>>();

  enter(roomId: string, userId: string, connectionId: string): Promise<boolean> {
    const key = `${roomId}:${userId}`;
    const set = this.connections.get(key) ?? new Set<string>();
    this.connections.set(key, set);
    const first = set.size === 0;
    set.add(connectionId);
    return Promise.resolve(first);
  }

  exit(roomId: string, userId: string, connectionId: string): Promise<boolean> {
    const key = `${roomId}:${userId}`;
    const set = this.connections.get(key);
    if (!set?.delete(connectionId)) {
      return Promise.resolve(false);
    }
    if (set.size === 0) {
      this.connections.delete(key);
      return Promise.resolve(true);
    }
    return Promise.resolve(false);
  }

  refresh(): Promise<void> {
    return Promise.resolve();
  }

  onExpired(): () => void {
    return () => undefined;
  }
}

export interface RedisPresenceStoreOptions {
  /** How often this instance says it is alive. */
  heartbeatIntervalMs: number;
  /** An instance silent for this long is dead: a survivor takes its connections out. */
  instanceTtlMs: number;
}

export const DEFAULT_PRESENCE_HEARTBEAT: RedisPresenceStoreOptions = {
  heartbeatIntervalMs: 1_000,
  instanceTtlMs: 4_000,
};

/** Entries a reaping script takes out of a dead instance's set per call, to keep it short. */
const REAP_BATCH = 500;
/** Reaping calls per tick at most (bounded work per second). */
const REAP_CALLS_PER_TICK = 20;

/**
 * Claims entries of one dead instance (heartbeat past due) and removes them; atomic, so that of
 * several instances reaping at once each entry is taken by exactly one, and only the one that
 * removes a user's last connection in a room reports it.
 * KEYS: the instances sorted set. ARGV: now, the presence key prefix, batch size.
 * Returns { more (0|1), roomId1, userId1, roomId2, userId2, … } for users now offline.
 */
const REAP_SCRIPT = `
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1)
if #dead == 0 then
  return {0}
end
local entriesKey = ARGV[2] .. 'instance:' .. dead[1]
local entries = redis.call('SPOP', entriesKey, tonumber(ARGV[3]))
local result = {1}
for _, raw in ipairs(entries) do
  local entry = cjson.decode(raw)
  local key = ARGV[2] .. entry[1] .. ':' .. entry[2]
  if redis.call('ZREM', key, entry[3]) == 1 then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[1])
    if redis.call('ZCARD', key) == 0 then
      table.insert(result, entry[1])
      table.insert(result, entry[2])
    end
  end
end
if redis.call('SCARD', entriesKey) == 0 then
  redis.call('ZREM', KEYS[1], dead[1])
end
return result
`;

/**
 * The fleet: one sorted set per (room, user) in Redis, of connection ids scored by when they
 * expire, and per instance a heartbeat (`presence:instances`, scored by when it is due) with
 * the set of its entries (`presence:instance:<id>`). Each change is one MULTI (atomic), so two
 * instances never both announce the same transition.
 *
 * When an instance stops beating (killed, frozen), a survivor takes its entries out within
 * `instanceTtlMs` and announces `offline` through `onExpired`; PRESENCE_TTL_MS remains the
 * backstop if the whole fleet is gone. All through the application's `RedisConnection`: while
 * Redis is unavailable, presence is not announced (it is best-effort, like live delivery).
 */
export class RedisPresenceStore
  extends PresenceStore
  implements OnModuleInit, OnApplicationShutdown
{
  private readonly logger = new Logger(RedisPresenceStore.name);
  private readonly prefix: string;
  private readonly instancesKey: string;
  private readonly entriesKey: string;
  /** This instance's entries, to register them again if it was taken for dead. */
  private readonly local = new Map<string, PresenceEntry>();
  private readonly listeners = new Set<PresenceExpiredListener>();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private beating = false;
  private registered = false;
  /** Survivors wait this long after Redis returns before reaping: every instance beats first. */
  private reapNotBefore = 0;
  private readonly stopWatching: () => void;

  constructor(
    private readonly connection: RedisConnection,
    /** This process among the fleet (the registry's id, which also tags its connections). */
    private readonly instanceId: string,
    private readonly options: RedisPresenceStoreOptions = DEFAULT_PRESENCE_HEARTBEAT,
  ) {
    super();
    this.prefix = `${connection.keyPrefix}presence:`;
    this.instancesKey = `${this.prefix}instances`;
    this.entriesKey = `${this.prefix}instance:${this.instanceId}`;
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
      .run((client) => client.zadd(this.instancesKey, 0, this.instanceId))
      .catch(() => undefined);
  }

  onExpired(listener: PresenceExpiredListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async enter(roomId: string, userId: string, connectionId: string): Promise<boolean> {
    const key = this.roomUserKey(roomId, userId);
    const member = entryMember(roomId, userId, connectionId);
    this.local.set(member, { roomId, userId, connectionId });
    const now = Date.now();
    const results = await this.run((client) =>
      client
        .multi()
        .zremrangebyscore(key, '-inf', now)
        .zadd(key, now + PRESENCE_TTL_MS, connectionId)
        .zcard(key)
        .pexpire(key, PRESENCE_TTL_MS)
        .sadd(this.entriesKey, member)
        .pexpire(this.entriesKey, PRESENCE_TTL_MS),
    );
    return results !== undefined && results[1] === 1 && results[2] === 1;
  }

  async exit(roomId: string, userId: string, connectionId: string): Promise<boolean> {
    const key = this.roomUserKey(roomId, userId);
    const member = entryMember(roomId, userId, connectionId);
    this.local.delete(member);
    const now = Date.now();
    const results = await this.run((client) =>
      client
        .multi()
        .zremrangebyscore(key, '-inf', now)
        .zrem(key, connectionId)
        .zcard(key)
        .srem(this.entriesKey, member),
    );
    return results !== undefined && results[1] === 1 && results[2] === 0;
  }

  async refresh(entries: PresenceEntry[]): Promise<void> {
    if (entries.length === 0) {
      return;
    }
    await this.run((client) => this.register(client.pipeline(), entries));
  }

  /** Says this instance is alive, then takes out the entries of instances that are not. */
  private async beat(): Promise<void> {
    if (this.beating || !this.connection.available) {
      return;
    }
    this.beating = true;
    try {
      const added = await this.connection.run((client) =>
        client.zadd(this.instancesKey, Date.now() + this.options.instanceTtlMs, this.instanceId),
      );
      if (added === 1 && this.registered && this.local.size > 0) {
        // Taken for dead (Redis was away longer than the TTL): put this instance's entries back.
        this.logger.warn('This instance was taken for dead: registering its presence again');
        await this.refresh([...this.local.values()]);
      }
      this.registered = true;
      if (Date.now() >= this.reapNotBefore) {
        await this.reap();
      }
    } catch (error) {
      this.logger.debug(`Presence heartbeat failed: ${(error as Error).message}`);
    } finally {
      this.beating = false;
    }
  }

  private async reap(): Promise<void> {
    for (let call = 0; call < REAP_CALLS_PER_TICK; call += 1) {
      const result = (await this.connection.run((client) =>
        client.eval(REAP_SCRIPT, 1, this.instancesKey, Date.now(), this.prefix, REAP_BATCH),
      )) as (number | string)[];
      for (let index = 1; index + 1 < result.length; index += 2) {
        this.announceExpired(String(result[index]), String(result[index + 1]));
      }
      if (result[0] !== 1) {
        return;
      }
    }
  }

  private announceExpired(roomId: string, userId: string): void {
    for (const listener of this.listeners) {
      try {
        listener(roomId, userId);
      } catch (error) {
        this.logger.error(`A presence listener failed: ${(error as Error).message}`);
      }
    }
  }

  private register(batch: ChainableCommander, entries: PresenceEntry[]): ChainableCommander {
    const expiresAt = Date.now() + PRESENCE_TTL_MS;
    for (const { roomId, userId, connectionId } of entries) {
      const key = this.roomUserKey(roomId, userId);
      // Not XX: after a Redis restart (nothing persisted) this puts live connections back, so
      // their later `exit` still announces offline.
      batch.zadd(key, expiresAt, connectionId);
      batch.pexpire(key, PRESENCE_TTL_MS);
      batch.sadd(this.entriesKey, entryMember(roomId, userId, connectionId));
    }
    batch.pexpire(this.entriesKey, PRESENCE_TTL_MS);
    return batch;
  }

  private roomUserKey(roomId: string, userId: string): string {
    return `${this.prefix}${roomId}:${userId}`;
  }

  /** The batch's results, or undefined when Redis could not run it. */
  private async run(
    build: (client: RedisConnection['client']) => ChainableCommander,
  ): Promise<unknown[] | undefined> {
    try {
      const replies = await this.connection.run((client) => build(client).exec());
      return replies?.map(([error, value]) => {
        if (error) {
          throw error;
        }
        return value;
      });
    } catch (error) {
      this.logger.debug(`Presence not updated: ${(error as Error).message}`);
      return undefined;
    }
  }
}

/** How an entry is recorded in its instance's set: what the reaping script decodes. */
function entryMember(roomId: string, userId: string, connectionId: string): string {
  return JSON.stringify([roomId, userId, connectionId]);
}
