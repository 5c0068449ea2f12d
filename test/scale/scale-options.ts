/** What one run of the scale suite does; every figure has a default that meets issue 20. */
export interface ScaleOptions {
  /** WebSocket connections over both instances (half on each). */
  sockets: number;
  /** Users the sockets belong to (several sockets per user, like devices and tabs). */
  users: number;
  rooms: number;
  roomsPerSocket: number;
  /** Posts a second over all rooms and both instances. */
  postsPerSecond: number;
  /** Steady state: at least two presence refreshes (30 s each) under load. */
  steadySeconds: number;
  socketsPerProcess: number;
  /**
   * Clients of the killed instance that come back with RealtimeClient; undefined: as many as the
   * survivor's open-file limit leaves room for (all of them where the limit allows).
   */
  resuming: number | undefined;
  /** Pass: every dropped client back and resumed within this many seconds of the kill. */
  backWithinSeconds: number;
  /** How long the suite watches the reconnection before it stops waiting. */
  watchBackSeconds: number;
  /** Posts go on this long after the last client came back, so resumed clients get live ones. */
  postsAfterBackSeconds: number;
  /** Upgrades each client process has in flight while the sockets open. */
  openConcurrency: number;
  /** The runner kills everything and fails past this (CI allows 10 minutes with the build). */
  deadlineSeconds: number;
  /** Where the figures table is written (markdown; a .json beside it). */
  output: string;
  /** Each server writes a CPU profile here (`node --cpu-prof`) when it exits; none if unset. */
  profileDirectory?: string;
}

export const DEFAULT_SCALE_OPTIONS: Omit<ScaleOptions, 'users' | 'output'> = {
  sockets: 30_000,
  rooms: 100,
  roomsPerSocket: 3,
  postsPerSecond: 50,
  steadySeconds: 70,
  socketsPerProcess: 5000,
  resuming: undefined,
  backWithinSeconds: 60,
  watchBackSeconds: 90,
  postsAfterBackSeconds: 10,
  openConcurrency: 40,
  deadlineSeconds: 480,
};

export const SCALE_USAGE = `npm run test:scale [-- options]
  --sockets N            WebSocket connections over both instances (30000)
  --users N              users they belong to (sockets / 10)
  --rooms N              rooms (100); --rooms-per-socket N (3)
  --rate N               posts a second (50)
  --seconds N            steady state, at least two presence refreshes (70)
  --sockets-per-process N  sockets each client process holds (5000)
  --resuming N           clients of the killed instance that come back (as many as fit)
  --back-within N        pass bound on the time back after the kill, seconds (60)
  --deadline N           the run fails and cleans up past this many seconds (480)
  --output PATH          figures table (test/scale/results/latest.md)
  --cpu-prof DIR         each server writes a CPU profile there as it exits
Development: --sockets 2000 --seconds 20`;

const FLAGS: Record<string, keyof ScaleOptions> = {
  '--sockets': 'sockets',
  '--users': 'users',
  '--rooms': 'rooms',
  '--rooms-per-socket': 'roomsPerSocket',
  '--rate': 'postsPerSecond',
  '--seconds': 'steadySeconds',
  '--sockets-per-process': 'socketsPerProcess',
  '--resuming': 'resuming',
  '--back-within': 'backWithinSeconds',
  '--watch-back': 'watchBackSeconds',
  '--open-concurrency': 'openConcurrency',
  '--deadline': 'deadlineSeconds',
  '--output': 'output',
  '--cpu-prof': 'profileDirectory',
};

/** `--name value` pairs over the defaults; throws on an unknown flag or a value that is not a positive number. */
export function parseScaleOptions(args: readonly string[], defaultOutput: string): ScaleOptions {
  const given: Partial<Record<keyof ScaleOptions, string>> = {};
  for (let index = 0; index < args.length; index += 2) {
    const key = FLAGS[args[index]];
    const value = args[index + 1];
    if (!key || value === undefined) {
      throw new Error(`unknown or incomplete option ${args[index]}\n${SCALE_USAGE}`);
    }
    given[key] = value;
  }
  const number = (key: keyof ScaleOptions, fallback: number): number => {
    const text = given[key];
    if (text === undefined) {
      return fallback;
    }
    const value = Number(text);
    if (!Number.isInteger(value) || value <= 0) {
      throw new Error(`${key} must be a positive whole number, not "${text}"`);
    }
    return value;
  };
  const sockets = number('sockets', DEFAULT_SCALE_OPTIONS.sockets);
  const options: ScaleOptions = {
    sockets,
    users: number('users', Math.max(1, Math.round(sockets / 10))),
    rooms: number('rooms', DEFAULT_SCALE_OPTIONS.rooms),
    roomsPerSocket: number('roomsPerSocket', DEFAULT_SCALE_OPTIONS.roomsPerSocket),
    postsPerSecond: number('postsPerSecond', DEFAULT_SCALE_OPTIONS.postsPerSecond),
    steadySeconds: number('steadySeconds', DEFAULT_SCALE_OPTIONS.steadySeconds),
    socketsPerProcess: number('socketsPerProcess', DEFAULT_SCALE_OPTIONS.socketsPerProcess),
    resuming: given.resuming === undefined ? undefined : number('resuming', 1),
    backWithinSeconds: number('backWithinSeconds', DEFAULT_SCALE_OPTIONS.backWithinSeconds),
    watchBackSeconds: number('watchBackSeconds', DEFAULT_SCALE_OPTIONS.watchBackSeconds),
    postsAfterBackSeconds: DEFAULT_SCALE_OPTIONS.postsAfterBackSeconds,
    openConcurrency: number('openConcurrency', DEFAULT_SCALE_OPTIONS.openConcurrency),
    deadlineSeconds: number('deadlineSeconds', DEFAULT_SCALE_OPTIONS.deadlineSeconds),
    output: given.output ?? defaultOutput,
    profileDirectory: given.profileDirectory,
  };
  if (options.roomsPerSocket > options.rooms) {
    throw new Error('--rooms-per-socket cannot exceed --rooms');
  }
  if (options.sockets < 2) {
    throw new Error('--sockets: at least one per instance');
  }
  return options;
}
