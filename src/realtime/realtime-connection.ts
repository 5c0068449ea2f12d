import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import { CloseCode, ServerEvent, ServerEventMap } from '@libs/protocol';
import { AuthenticatedUser } from '@app/auth/authenticated-user';
import { TokenBucket } from './rate-limiter';
import type { RealtimeMetrics } from './realtime-metrics';

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

/** Longest timer Node accepts; a token that expires later is checked again then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface ConnectionLimits {
  maxBuffered: number;
  messageRate: number;
}

/**
 * One authenticated socket and everything the server keeps about it: who it is, which rooms it
 * joined, its rate limits and liveness. Every write goes through `sendFrame`, which refuses to
 * queue more than `maxBuffered` bytes for a client that does not read.
 */
export class RealtimeConnection {
  readonly id = randomUUID();
  readonly rooms = new Set<string>();
  private alive = true;
  private closed = false;
  private expiryTimer: NodeJS.Timeout | undefined;
  private readonly frames: TokenBucket;
  private readonly abuse = new TokenBucket(ABUSE_REFILL_PER_SECOND, ABUSE_BURST);

  constructor(
    private readonly socket: WebSocket,
    private authenticatedUser: AuthenticatedUser,
    private readonly limits: ConnectionLimits,
    private readonly metrics: ConnectionMetrics,
  ) {
    this.frames = new TokenBucket(limits.messageRate, limits.messageRate * 2);
    this.scheduleExpiry();
  }

  get user(): AuthenticatedUser {
    return this.authenticatedUser;
  }

  get isOpen(): boolean {
    return !this.closed && this.socket.readyState === this.socket.OPEN;
  }

  send<E extends ServerEvent>(event: E, data: ServerEventMap[E], ref?: string): boolean {
    return this.sendFrame(
      JSON.stringify(ref === undefined ? { event, data } : { event, data, ref }),
    );
  }

  /**
   * Writes one serialized frame (fan-out serializes once and calls this for every socket). A
   * client with more than `maxBuffered` bytes waiting is closed with 1013 instead.
   */
  sendFrame(frame: string | Buffer): boolean {
    if (!this.isOpen) {
      return false;
    }
    if (this.socket.bufferedAmount > this.limits.maxBuffered) {
      this.metrics.slowConsumersDropped.inc();
      this.close(CloseCode.TryAgainLater, 'Too slow: too many messages were waiting');
      return false;
    }
    this.socket.send(frame, { binary: false });
    this.metrics.framesSent.inc();
    return true;
  }

  /** Counts an incoming frame against the rate limit. */
  acceptFrame(): boolean {
    this.alive = true;
    return this.frames.tryTake();
  }

  /** Counts a refused frame; false when the connection has abused its allowance. */
  strike(): boolean {
    return this.abuse.tryTake();
  }

  /** The access token was renewed with `auth`: the connection now lives until it expires. */
  renew(user: AuthenticatedUser): void {
    this.authenticatedUser = user;
    this.scheduleExpiry();
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

  close(code: number, reason: string): void {
    if (this.closed) {
      return;
    }
    this.closed = true;
    clearTimeout(this.expiryTimer);
    this.metrics.closed.inc({ code: String(code) });
    this.socket.close(code, reason);
    setTimeout(() => this.socket.terminate(), CLOSE_GRACE_MS).unref();
  }

  /** Called once the socket is gone. */
  dispose(): void {
    this.closed = true;
    clearTimeout(this.expiryTimer);
  }

  private scheduleExpiry(): void {
    clearTimeout(this.expiryTimer);
    const remainingMs = this.authenticatedUser.expiresAt.getTime() - Date.now();
    this.expiryTimer = setTimeout(
      () => {
        if (this.authenticatedUser.expiresAt.getTime() <= Date.now()) {
          this.close(CloseCode.TokenExpired, 'Access token expired');
        } else {
          this.scheduleExpiry();
        }
      },
      Math.max(0, Math.min(remainingMs, MAX_TIMER_MS)),
    );
    this.expiryTimer.unref();
  }
}
