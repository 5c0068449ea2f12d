import { ScaleOptions } from './scale-options';

/** The fleet: instance 0 survives, instance 1 is killed. */
export const INSTANCE_COUNT = 2;
export const SURVIVOR = 0;
export const KILLED = 1;

/** One planned WebSocket connection. */
export interface PlannedSocket {
  index: number;
  user: number;
  /** The instance it opens on. */
  instance: number;
  /** A RealtimeClient that comes back after its instance is killed; else a raw `ws` socket. */
  resuming: boolean;
}

/** What one client process holds: sockets of one instance, from a loopback address of its own. */
export interface ClientProcessPlan {
  instance: number;
  /** 127.0.0.2, 127.0.0.3 …: each address has its own ephemeral ports. */
  localAddress: string;
  sockets: PlannedSocket[];
}

export interface ScalePlan {
  sockets: PlannedSocket[];
  processes: ClientProcessPlan[];
  /** Room indices each user joins (all of that user's sockets join the same ones). */
  roomsOfUser: number[][];
  resuming: number;
}

/**
 * Sockets alternate between the instances and go round the users, so every user has sockets on
 * both; user u is in rooms u, u + rooms/k, … (mod rooms), so every room gets the same share of
 * each instance's sockets. The resuming clients are spread evenly over the killed instance's
 * sockets, and so over its client processes.
 */
export function planScale(options: ScaleOptions, resuming: number): ScalePlan {
  const roomsOfUser = Array.from({ length: options.users }, (_, user) =>
    Array.from(
      { length: options.roomsPerSocket },
      (_, k) => (user + Math.floor((k * options.rooms) / options.roomsPerSocket)) % options.rooms,
    ),
  );
  const sockets: PlannedSocket[] = [];
  const onKilled = Math.floor(options.sockets / INSTANCE_COUNT);
  let killedSeen = 0;
  for (let index = 0; index < options.sockets; index++) {
    const instance = index % INSTANCE_COUNT;
    let isResuming = false;
    if (instance === KILLED) {
      // Evenly spread: the j-th socket resumes when floor(j · r / n) steps up.
      isResuming =
        Math.floor(((killedSeen + 1) * resuming) / onKilled) >
        Math.floor((killedSeen * resuming) / onKilled);
      killedSeen++;
    }
    sockets.push({
      index,
      user: Math.floor(index / INSTANCE_COUNT) % options.users,
      instance,
      resuming: isResuming,
    });
  }
  const processes: ClientProcessPlan[] = [];
  for (let instance = 0; instance < INSTANCE_COUNT; instance++) {
    const own = sockets.filter((socket) => socket.instance === instance);
    const count = Math.max(1, Math.ceil(own.length / options.socketsPerProcess));
    for (let slot = 0; slot < count; slot++) {
      processes.push({
        instance,
        localAddress: `127.0.0.${2 + processes.length}`,
        // Round robin, so each process gets its share of the resuming clients.
        sockets: own.filter((_, position) => position % count === slot),
      });
    }
  }
  return {
    sockets,
    processes,
    roomsOfUser,
    resuming: sockets.filter((socket) => socket.resuming).length,
  };
}

/** members[instance][room]: open sockets of that instance in that room. */
export function membersByRoom(
  plan: ScalePlan,
  rooms: number,
  isOpen: (socket: PlannedSocket) => boolean,
): number[][] {
  const members = Array.from({ length: INSTANCE_COUNT }, () => new Array<number>(rooms).fill(0));
  for (const socket of plan.sockets) {
    if (isOpen(socket)) {
      for (const room of plan.roomsOfUser[socket.user]) {
        members[socket.instance][room]++;
      }
    }
  }
  return members;
}

/**
 * Live deliveries owed: every stored post of `acked[origin][room]` to every open socket in its
 * room; split by whether the receiving socket is on the instance that took the post.
 */
export function expectedDeliveries(
  members: number[][],
  acked: number[][],
): { sameInstance: number; crossInstance: number } {
  let sameInstance = 0;
  let crossInstance = 0;
  acked.forEach((posts, origin) =>
    posts.forEach((count, room) =>
      members.forEach((perRoom, receiver) => {
        if (receiver === origin) {
          sameInstance += count * perRoom[room];
        } else {
          crossInstance += count * perRoom[room];
        }
      }),
    ),
  );
  return { sameInstance, crossInstance };
}
