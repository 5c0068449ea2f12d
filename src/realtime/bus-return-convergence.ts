import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { MessageBus, Unsubscribe } from '@libs/bus';
import { AuthSessionLiveness, Login } from '@app/auth/auth-session-liveness';
import { RoomsService } from '@app/rooms/rooms.service';
import { ConnectionRegistry } from './connection-registry';
import { RoomAccessRevocation } from './room-access-revocation';

/** Where an instance that was cut off from the bus asks the others to check again too. */
export const CHECK_AGAIN_BUS_CHANNEL = 'realtime:check-again';
/** Logins or (room, user) pairs per query. */
const BATCH_SIZE = 500;

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
      this.again = false;
      try {
        await this.pass();
      } catch (error) {
        this.logger.warn(
          `Connections not checked again: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    } while (this.again);
  }

  private async pass(): Promise<void> {
    const startedAt = Date.now();
    const logins = new Map<string, Login>();
    const pairs = new Map<string, RoomPair>();
    for (const connection of this.registry.all()) {
      const { id: userId, sessionId } = connection.user;
      logins.set(sessionId, { sessionId, userId });
      for (const roomId of connection.rooms) {
        pairs.set(`${roomId} ${userId}`, { roomId, userId });
      }
    }
    // Ended logins close their connections through the liveness listeners (EndedLoginCloser).
    for (const batch of batches([...logins.values()])) {
      await this.liveness.recheck(batch);
      await nextTurn();
    }
    let revoked = 0;
    for (const batch of batches([...pairs.values()])) {
      for (const { roomId, userId } of await this.rooms.withoutMembership(batch)) {
        this.revocation.revokeHere(roomId, userId);
        revoked += 1;
      }
      await nextTurn();
    }
    this.logger.log(
      `Checked ${logins.size} logins and ${pairs.size} room memberships again in ${Date.now() - startedAt} ms; ${revoked} memberships revoked`,
    );
  }
}

function* batches<T>(items: readonly T[]): Generator<T[]> {
  for (let start = 0; start < items.length; start += BATCH_SIZE) {
    yield items.slice(start, start + BATCH_SIZE);
  }
}
