import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { MessageBus, Unsubscribe } from '@libs/bus';
import { AuthSessionsRepository } from './auth-sessions.repository';

/** The bus channel on which every instance hears of an ended login. */
export const ENDED_LOGIN_BUS_CHANNEL = 'auth:login-ended';

/**
 * How long a live answer is trusted without asking the database again. The bus ends logins at
 * once on every instance; this only bounds how long a lost bus message can keep one alive.
 */
export const SESSION_STATE_TTL_MS = 5_000;
/** Ended logins never come back: remember them longer, so a replayed token costs no query. */
const ENDED_STATE_TTL_MS = 15 * 60_000;
const MAX_SESSION_STATES = 100_000;

/** A login: one auth session of one user. */
export interface Login {
  sessionId: string;
  userId: string;
}

export type EndedLogin = Login;

interface SessionState {
  userId: string;
  /** Epoch ms after which the login is over anyway (its refresh expiry); 0 once it ended. */
  liveUntil: number;
}

/**
 * Whether a login (an auth session) is still live, from a bounded in-process cache: one query
 * per login every few seconds, none per request. `end()` revokes a login fleet-wide: this
 * instance forgets it at once, the others when the bus tells them, and listeners (the WebSocket
 * registry) close what it still holds open.
 */
@Injectable()
export class AuthSessionLiveness implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(AuthSessionLiveness.name);
  private readonly states = new LRUCache<string, SessionState>({
    max: MAX_SESSION_STATES,
    ttl: SESSION_STATE_TTL_MS,
    // Expired entries are skipped by `get` without a timer per entry.
    ttlAutopurge: false,
  });
  private readonly lookups = new Map<string, Promise<SessionState>>();
  private readonly listeners = new Set<(login: EndedLogin) => void>();
  private unsubscribe: Unsubscribe | undefined;

  constructor(
    private readonly sessions: AuthSessionsRepository,
    private readonly bus: MessageBus,
  ) {}

  async onModuleInit(): Promise<void> {
    this.unsubscribe = await this.bus.subscribe(ENDED_LOGIN_BUS_CHANNEL, (message) => {
      const login = message.json<Partial<EndedLogin>>();
      if (typeof login?.sessionId === 'string' && typeof login.userId === 'string') {
        this.forget({ sessionId: login.sessionId, userId: login.userId });
      }
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }

  /**
   * True when the login `sessionId` of `userId` is live. Synchronous from the cache (the common
   * case); otherwise one query, shared by concurrent callers. A user whose row is gone has no
   * sessions left (they cascade), so this also says the user exists.
   */
  isLive(sessionId: string, userId: string): boolean | Promise<boolean> {
    const state = this.states.get(sessionId);
    if (state) {
      return isLiveState(state, userId);
    }
    return this.load(sessionId).then((loaded) => isLiveState(loaded, userId));
  }

  /** Ends a login on every instance. Call after the database says it is revoked. */
  async end(login: EndedLogin): Promise<void> {
    this.forget(login);
    try {
      await this.bus.publish(ENDED_LOGIN_BUS_CHANNEL, login);
    } catch (error) {
      // The other instances still refuse it once their cached state expires.
      this.logger.warn(
        `Ended login not broadcast: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  /**
   * Asks the database about these logins again, in one query and past the cache: what the bus may
   * have failed to carry while it was away. An ended one is ended here (its listeners close what
   * it holds open); a live one is cached afresh.
   */
  async recheck(logins: readonly Login[]): Promise<void> {
    const found = await this.sessions.findByIds([
      ...new Set(logins.map((login) => login.sessionId)),
    ]);
    const sessions = new Map(found.map((session) => [session.id, session]));
    for (const login of logins) {
      const session = sessions.get(login.sessionId);
      const state: SessionState = {
        userId: session?.userId ?? '',
        liveUntil: session && !session.revokedAt ? session.expiresAt.getTime() : 0,
      };
      if (!isLiveState(state, login.userId)) {
        this.forget(login);
      } else if (this.states.get(login.sessionId)?.liveUntil !== 0) {
        // A revocation heard while the query ran wins over what the query read.
        this.states.set(login.sessionId, state, { ttl: SESSION_STATE_TTL_MS });
      }
    }
  }

  /** Calls `listener` for every login that ends, on any instance. */
  onEnded(listener: (login: EndedLogin) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private forget(login: EndedLogin): void {
    this.states.set(
      login.sessionId,
      { userId: login.userId, liveUntil: 0 },
      {
        ttl: ENDED_STATE_TTL_MS,
      },
    );
    for (const listener of this.listeners) {
      listener(login);
    }
  }

  private load(sessionId: string): Promise<SessionState> {
    const pending = this.lookups.get(sessionId);
    if (pending) {
      return pending;
    }
    const lookup = this.sessions
      .findById(sessionId)
      .then((session) => {
        // A missing session (or user: sessions cascade with it) is as ended as a revoked one.
        const state: SessionState = {
          userId: session?.userId ?? '',
          liveUntil: session && !session.revokedAt ? session.expiresAt.getTime() : 0,
        };
        // A revocation heard while the query ran wins over what the query read.
        if (this.states.get(sessionId)?.liveUntil !== 0) {
          this.states.set(sessionId, state, {
            ttl: state.liveUntil === 0 ? ENDED_STATE_TTL_MS : SESSION_STATE_TTL_MS,
          });
        }
        return this.states.get(sessionId) ?? state;
      })
      .finally(() => this.lookups.delete(sessionId));
    this.lookups.set(sessionId, lookup);
    return lookup;
  }
}

function isLiveState(state: SessionState, userId: string): boolean {
  return state.userId === userId && state.liveUntil > Date.now();
}
