import Redis, { Cluster, ClusterNode, ClusterOptions, Command, RedisOptions } from 'ioredis';
import { LoopTimeDeadlines } from './loop-time-deadlines';

/** The error of a command Redis did not answer in time, worded as ioredis's own timeout. */
export const COMMAND_TIMED_OUT = 'Command timed out';

/** One command timeout for every connection of a `RedisConnection`, in loop time. */
export function commandDeadlines(timeoutMs: number): LoopTimeDeadlines<Command> {
  return new LoopTimeDeadlines<Command>(timeoutMs, {
    // ioredis marks answered commands; a rejected one is rejected again harmlessly.
    pending: (command) => !command.isResolved,
    expire: (command) => command.reject(new Error(COMMAND_TIMED_OUT)),
  });
}

/**
 * An ioredis client whose commands are timed by shared `LoopTimeDeadlines` instead of ioredis's
 * `commandTimeout`, a timer per command that counts the stalls of our own event loop.
 */
export class WatchedRedis extends Redis {
  constructor(
    target: string | { host: string; port: number },
    options: RedisOptions,
    private readonly deadlines: LoopTimeDeadlines<Command>,
  ) {
    // ioredis merges a URL or a { host, port } with the options object that follows.
    super(target as string, { ...options, commandTimeout: undefined });
  }

  override sendCommand(...args: Parameters<Redis['sendCommand']>): unknown {
    const sent = super.sendCommand(...args);
    this.deadlines.watch(args[0]);
    return sent;
  }
}

/**
 * The same for a Redis Cluster: each command is timed once, from when the application sends it,
 * however many redirections (MOVED, ASK, a failover) it takes to reach its node.
 */
export class WatchedCluster extends Cluster {
  constructor(
    nodes: ClusterNode[],
    options: ClusterOptions,
    private readonly deadlines: LoopTimeDeadlines<Command>,
  ) {
    super(nodes, {
      ...options,
      redisOptions: { ...options.redisOptions, commandTimeout: undefined },
    });
  }

  override sendCommand(...args: Parameters<Cluster['sendCommand']>): unknown {
    const sent = super.sendCommand(...args);
    this.deadlines.watch(args[0]);
    return sent;
  }
}
