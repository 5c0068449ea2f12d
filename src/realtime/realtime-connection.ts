import type { WebSocket } from 'ws';
import {
  CloseCode,
  RealtimeErrorCode,
  ServerEvent,
  ServerEventMap,
  TYPING_RELAY_INTERVAL_MS,
} from '@libs/protocol';
import { AuthenticatedUser } from '@app/auth/authenticated-user';
import { PreparedFrame, WebSocketInternals } from './prepared-frame';
import { takeToken, TokenBucket, TokenBucketState } from './rate-limiter';
import type { RealtimeMetrics } from './realtime-metrics';
import type { Expiring } from './token-expiry';

export type ConnectionMetrics = Pick<
  RealtimeMetrics,
  'framesSent' | 'slowConsumersDropped' | 'closed'
>;

/** After `close()`, a peer that does not finish the closing handshake is cut off. */
const CLOSE_GRACE_MS = 5000;
/** Refused frames a connection may send in a burst before it is closed with 1008. */
const ABUSE_BURST = 10;
/** …and how fast that allowance comes back. */
const ABUSE_REFILL_PER_SECOND = 0.2;

export interface ConnectionLimits {
  maxBuffered: number;
  messageRate: number;
}

/**
 * One authenticated socket and what the server keeps about it: who it is, which rooms it joined,
 * its rate limits and liveness. Kept small: an idle connection is mostly this object, so there is
 * no timer, closure or map of its own here (the registry's heartbeat and expiry schedule serve
 * every connection). Every write refuses to queue more than `maxBuffered` bytes for a client that
 * does not read: such a client is closed with 1013 instead.
 */
export class RealtimeConnection implements Expiring, TokenBucketState {
  /** The rooms it joined on this instance (the registry keeps the reverse map). */
  readonly rooms = new Set<string>();
  /** Set by the registry's expiry schedule. */
  expiryBucket: number | undefined;
  /** The frame being handled: the next one waits for it (guarantee 8). */
  handling: Promise<void> | undefined;
  /** The frame rate limit's bucket, kept in the connection itself (see `acceptFrame`). */
  tokens: number;
  updatedAt: number;
  /** Set while an operator's connection watches the fleet (`watchFleet`). */
  stopWatchingFleet: (() => void) | undefined;
  private alive = true;
  private closed = false;
  /** Made on the first refused frame: most connections never send one. */
  private abuse: TokenBucket | undefined;
  /**
   * When a `typing` of each room was last relayed; made on the first one. An entry lives only
   * while the connection is in its room (see `forgetRoom`), so it holds at most `rooms.size`.
   */
  private typingRelayedAt: Map<string, number> | undefined;

  constructor(
    /** Unique on this instance; the fleet-wide id adds the instance's. */
    readonly serial: number,
    private readonly socket: WebSocket,
    private authenticatedUser: AuthenticatedUser,
    private readonly limits: ConnectionLimits,
    private readonly metrics: ConnectionMetrics,
  ) {
    this.tokens = limits.messageRate * 2;
    this.updatedAt = Date.now();
  }

  get user(): AuthenticatedUser {
    return this.authenticatedUser;
  }

  get expiresAtMs(): number {
    return this.authenticatedUser.expiresAt.getTime();
  }

  get isOpen(): boolean {
    return !this.closed && this.socket.readyState === this.socket.OPEN;
  }

  /** One frame of its own (an answer, an error): serialized for this socket only. */
  send<E extends ServerEvent>(event: E, data: ServerEventMap[E], ref?: string): boolean {
    if (!this.canWrite()) {
      return false;
    }
    this.socket.send(JSON.stringify(ref === undefined ? { event, data } : { event, data, ref }), {
      binary: false,
    });
    this.metrics.framesSent.inc();
    return true;
  }

  /** A frame built once for many sockets (fan-out; it counts the frames it sent). */
  sendPrepared(frame: PreparedFrame): boolean {
    if (!this.canWrite()) {
      return false;
    }
    frame.writeTo(this.socket);
    return true;
  }

  /**
   * Frames built once that wait for this connection (LocalFanout), flat and in order: a frame,
   * then the room it was sent to (undefined: sent to the user or the connection itself).
   * Undefined while nothing waits, which is nearly always.
   */
  outbox: (PreparedFrame | string | undefined)[] | undefined;

  /**
   * Writes what waits in the outbox in one go (corked: the TCP socket gets it in one system call),
   * less the frames of rooms this connection has left since (it was sent `left`: nothing of the
   * room may follow); how many frames were written.
   */
  flushOutbox(): number {
    const outbox = this.outbox ?? [];
    this.outbox = undefined;
    const tcp = (this.socket as unknown as WebSocketInternals)._socket;
    tcp?.cork();
    let written = 0;
    try {
      for (let index = 0; index < outbox.length; index += 2) {
        const roomId = outbox[index + 1] as string | undefined;
        if (roomId !== undefined && !this.rooms.has(roomId)) {
          continue;
        }
        if (!this.sendPrepared(outbox[index] as PreparedFrame)) {
          break;
        }
        written++;
      }
    } finally {
      tcp?.uncork();
    }
    return written;
  }

  /** Counts an incoming frame against the rate limit. */
  acceptFrame(): boolean {
    this.alive = true;
    const { messageRate } = this.limits;
    return takeToken(this, messageRate, messageRate * 2, Date.now());
  }

  /**
   * Whether a `typing` in `roomId` (a room it is in) is relayed now: at most one per room every
   * TYPING_RELAY_INTERVAL_MS; the others are dropped, not queued.
   */
  takeTypingTurn(roomId: string, now: number): boolean {
    this.typingRelayedAt ??= new Map();
    const last = this.typingRelayedAt.get(roomId);
    if (last !== undefined && now - last < TYPING_RELAY_INTERVAL_MS) {
      return false;
    }
    this.typingRelayedAt.set(roomId, now);
    return true;
  }

  /** The connection left the room (the registry calls this): nothing of the room is kept. */
  forgetRoom(roomId: string): void {
    if (this.typingRelayedAt?.delete(roomId) && this.typingRelayedAt.size === 0) {
      this.typingRelayedAt = undefined;
    }
  }

  /**
   * Answers a refused frame with `error {code, message, ref}`. When the client caused it
   * (`counts`), it is held against the abuse allowance: past it the connection is closed with 1008.
   */
  refuse(code: RealtimeErrorCode, message: string, ref: string | undefined, counts = true): void {
    this.send('error', ref === undefined ? { code, message } : { code, message, ref }, ref);
    if (counts && !this.strike()) {
      this.close(CloseCode.PolicyViolation, 'Too many refused frames');
    }
  }

  /** Counts a refused frame; false when the connection has abused its allowance. */
  private strike(): boolean {
    this.abuse ??= new TokenBucket(ABUSE_REFILL_PER_SECOND, ABUSE_BURST);
    return this.abuse.tryTake();
  }

  /** The access token was renewed with `auth`: the connection now lives until it expires. */
  renew(user: AuthenticatedUser): void {
    this.authenticatedUser = user;
  }

  markAlive(): void {
    this.alive = true;
  }

  /** One heartbeat: a peer that did not answer the previous ping is dropped. */
  heartbeat(): void {
    if (!this.alive) {
      this.socket.terminate();
      return;
    }
    this.alive = false;
    this.socket.ping();
  }

  /** The token's time is up (the expiry schedule calls this once it is past). */
  expire(): void {
    this.close(CloseCode.TokenExpired, 'Access token expired');
  }

  close(code: number, reason: string): void {
    if (this.closed) {
      return;
    }
    this.closed = true;
    this.metrics.closed.inc({ code: String(code) });
    this.socket.close(code, reason);
    const socket = this.socket;
    setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref();
  }

  /** Called once the socket is gone. */
  dispose(): void {
    this.closed = true;
    this.typingRelayedAt = undefined;
    this.stopWatchingFleet?.();
    this.stopWatchingFleet = undefined;
  }

  /** Rooms with `typing` throttle state: at most the rooms it is in, none once closed. */
  get typingRoomsTracked(): number {
    return this.typingRelayedAt?.size ?? 0;
  }

  private canWrite(): boolean {
    if (!this.isOpen) {
      return false;
    }
    if (this.socket.bufferedAmount > this.limits.maxBuffered) {
      this.metrics.slowConsumersDropped.inc();
      this.close(CloseCode.TryAgainLater, 'Too slow: too many messages were waiting');
      return false;
    }
    return true;
  }
}
