import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { MessageBus, Unsubscribe } from '@libs/bus';
import { AuthSessionLiveness, Login } from '@app/auth/auth-session-liveness';
import { RoomsService } from '@app/rooms/rooms.service';
import { ConnectionRegistry } from './connection-registry';
import { RoomAccessRevocation } from './room-access-revocation';

/** Where an instance that was cut off from the bus asks the others to check again too. */
export const CHECK_AGAIN_BUS_CHANNEL = 'realtime:check-again';
/**
 * Logins or (room, user) pairs per query: on SQLite a query holds the event loop while it runs,
 * so a pass is many short queries with a turn of the loop between them, never one long one.
 */
const BATCH_SIZE = 200;
/**
 * Passes start at most this often: a flapping connection (or every instance of a fleet saying it
 * is back) costs the database one pass per interval, not one per event.
 */
const MIN_PASS_INTERVAL_MS = 3000;
/** Connections looked at between two turns of the event loop. */
const CONNECTIONS_PER_TURN = 500;

interface RoomPair {
  roomId: string;
  userId: string;
}

/**
 * Revocations travel on the bus at most once: an ended login or a lost room membership published
 * while Redis was away never arrives. So when the bus is back, this instance asks the database
 * again about every login and every room membership its connections hold, in batches, and closes
 * (4401) or takes out of the room (`left`) what the answers no longer allow. Public rooms are
 * checked like the others: a connection is in a room only as a member, so one whose user left
 * the room (over REST, on another instance) leaves it here too.
 *
 * An instance that was cut off alone may have published revocations the others missed: it tells
 * them, and they check again as well.
 */
@Injectable()
export class BusReturnConvergence implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(BusReturnConvergence.name);
  private stopListening: (() => void) | undefined;
  private unsubscribe: Unsubscribe | undefined;
  private running: Promise<void> | undefined;
  /** A request came while a pass ran: one more pass follows it. */
  private again = false;
  private lastPassAt = -Infinity;
  private stopped = false;

  constructor(
    private readonly bus: MessageBus,
    private readonly registry: ConnectionRegistry,
    private readonly liveness: AuthSessionLiveness,
    private readonly rooms: RoomsService,
    private readonly revocation: RoomAccessRevocation,
  ) {}

  async onModuleInit(): Promise<void> {
    this.stopListening = this.bus.onReconnected(() => {
      void this.checkAgain();
      this.bus
        .publish(CHECK_AGAIN_BUS_CHANNEL, { origin: this.registry.instanceId })
        .catch((error: Error) => this.logger.debug(`Others not asked to check: ${error.message}`));
    });
    this.unsubscribe = await this.bus.subscribe(CHECK_AGAIN_BUS_CHANNEL, (message) => {
      if (message.json<{ origin?: unknown }>()?.origin !== this.registry.instanceId) {
        void this.checkAgain();
      }
    });
  }

  onModuleDestroy(): void {
    this.stopped = true;
    this.stopListening?.();
    this.unsubscribe?.();
  }

  /** Checks every connection of this instance again; resolves when that pass is over. */
  checkAgain(): Promise<void> {
    if (this.running) {
      // The running pass may have read before what prompted this: one more after it.
      this.again = true;
      return this.running;
    }
    this.running = this.passes().finally(() => (this.running = undefined));
    return this.running;
  }

  private async passes(): Promise<void> {
    do {
      const waitMs = this.lastPassAt + MIN_PASS_INTERVAL_MS - Date.now();
      if (waitMs > 0) {
        await sleep(waitMs, undefined, { ref: false });
      }
      if (this.stopped) {
        return;
      }
      // Requests until now are all answered by the pass that starts now.
      this.again = false;
      this.lastPassAt = Date.now();
      try {
        await this.pass();
      } catch (error) {
        this.logger.warn(
          `Connections not checked again: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    } while (this.again);
  }

  /** In slices of connections, each asked about in a few queries, the loop turning in between. */
  private async pass(): Promise<void> {
    const startedAt = Date.now();
    const checkedLogins = new Set<string>();
    const checkedPairs = new Set<string>();
    let revoked = 0;
    // A live view: connections that come meanwhile are checked too, those gone are skipped.
    for (const connections of batches(this.registry.all(), CONNECTIONS_PER_TURN)) {
      if (this.stopped) {
        return;
      }
      const logins: Login[] = [];
      // By room, so that each query asks about few rooms (see RoomsRepository.findMemberships).
      const usersByRoom = new Map<string, Set<string>>();
      for (const connection of connections) {
        const { id: userId, sessionId } = connection.user;
        if (!checkedLogins.has(sessionId)) {
          checkedLogins.add(sessionId);
          logins.push({ sessionId, userId });
        }
        for (const roomId of connection.rooms) {
          const pair = `${roomId} ${userId}`;
          if (!checkedPairs.has(pair)) {
            checkedPairs.add(pair);
            addTo(usersByRoom, roomId, userId);
          }
        }
      }
      // Ended logins close their connections through the liveness listeners (EndedLoginCloser).
      for (const batch of batches(logins, BATCH_SIZE)) {
        await this.liveness.recheck(batch);
        await nextTurn();
      }
      for (const batch of batches(roomPairs(usersByRoom), BATCH_SIZE)) {
        for (const { roomId, userId } of await this.rooms.withoutMembership(batch)) {
          this.revocation.revokeHere(roomId, userId);
          revoked += 1;
        }
        await nextTurn();
      }
      await nextTurn();
    }
    this.logger.log(
      `Checked ${checkedLogins.size} logins and ${checkedPairs.size} room memberships again in ${Date.now() - startedAt} ms; ${revoked} memberships revoked`,
    );
  }
}

function addTo(index: Map<string, Set<string>>, key: string, value: string): void {
  const values = index.get(key);
  if (values) {
    values.add(value);
  } else {
    index.set(key, new Set([value]));
  }
}

function* roomPairs(usersByRoom: Map<string, Set<string>>): Generator<RoomPair> {
  for (const [roomId, users] of usersByRoom) {
    for (const userId of users) {
      yield { roomId, userId };
    }
  }
}

function* batches<T>(items: Iterable<T>, size: number): Generator<T[]> {
  let batch: T[] = [];
  for (const item of items) {
    batch.push(item);
    if (batch.length === size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) {
    yield batch;
  }
}
