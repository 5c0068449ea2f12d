import { IncomingMessage } from 'node:http';
import { Inject, Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { InjectThrottlerStorage, ThrottlerStorage } from '@nestjs/throttler';
import type { FastifyInstance } from 'fastify';
import { APP_CONFIG, AppConfig } from '@config';
import { bearerToken } from '@app/auth/access-token.guard';
import { AccessTokensService } from '@app/auth/access-tokens.service';
import { AuthenticatedUser } from '@app/auth/authenticated-user';
import { SHED_RETRY_AFTER_SECONDS } from '@app/bootstrap/load-shedding';
import { clientAddressResolver } from '@app/common/client-address';
import { ConnectionRegistry } from './connection-registry';

export type UpgradeVerdict =
  | { accepted: true; user: AuthenticatedUser }
  | { accepted: false; status: number; message: string; headers?: Record<string, string> };

const RETRY_LATER = { 'Retry-After': String(SHED_RETRY_AFTER_SECONDS) };

/**
 * Decides an upgrade to `/ws` before the 101, so a refused client never gets a socket: 503 while
 * the instance is shutting down, saturated or full; 429 past the per-address connection rate;
 * 403 for a page of a foreign origin; 401 without a valid access token (header, or `?token=`
 * for browsers).
 */
@Injectable()
export class UpgradeAuthenticator {
  private readonly usersByRequest = new WeakMap<IncomingMessage, AuthenticatedUser>();
  private accepting = true;
  private readonly clientAddressOf: (request: IncomingMessage) => string;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly accessTokens: AccessTokensService,
    private readonly connections: ConnectionRegistry,
    private readonly adapterHost: HttpAdapterHost,
    @InjectThrottlerStorage() private readonly throttlerStorage: ThrottlerStorage,
  ) {
    this.clientAddressOf = clientAddressResolver(config.http.trustProxy);
  }

  /** From now on every upgrade gets 503 (the server is draining). */
  stopAccepting(): void {
    this.accepting = false;
  }

  async verify(request: IncomingMessage): Promise<UpgradeVerdict> {
    if (!this.accepting) {
      return { accepted: false, status: 503, message: 'Shutting down', headers: RETRY_LATER };
    }
    if (this.isUnderPressure()) {
      return { accepted: false, status: 503, message: 'Overloaded', headers: RETRY_LATER };
    }
    if (this.connections.size >= this.config.websocket.maxConnections) {
      return {
        accepted: false,
        status: 503,
        message: 'Connection limit reached',
        headers: RETRY_LATER,
      };
    }
    const retryAfterSeconds = await this.connectAttemptBlockedFor(request);
    if (retryAfterSeconds > 0) {
      return {
        accepted: false,
        status: 429,
        message: 'Too many connection attempts',
        headers: { 'Retry-After': String(retryAfterSeconds) },
      };
    }
    if (!this.originAllowed(request)) {
      return { accepted: false, status: 403, message: 'Origin not allowed' };
    }
    const token = bearerToken(request.headers.authorization) ?? tokenFromQuery(request.url);
    const user = token && (await this.accessTokens.authenticate(token));
    if (!user) {
      return { accepted: false, status: 401, message: 'A valid access token is required' };
    }
    this.usersByRequest.set(request, user);
    return { accepted: true, user };
  }

  /** The user `verify` accepted for this upgrade request. */
  userOf(request: IncomingMessage): AuthenticatedUser | undefined {
    return this.usersByRequest.get(request);
  }

  /** Counts the attempt in the rate-limit storage (Redis with REDIS_URL); >0: blocked for that long. */
  private async connectAttemptBlockedFor(request: IncomingMessage): Promise<number> {
    const ttlMs = this.config.throttle.ttlMs;
    const record = await this.throttlerStorage.increment(
      `ws-connect:${this.clientAddressOf(request)}`,
      ttlMs,
      this.config.websocket.connectLimit,
      ttlMs,
      'ws-connect',
    );
    return record.isBlocked ? Math.max(1, record.timeToBlockExpire) : 0;
  }

  /**
   * Browsers always send Origin on a WebSocket upgrade and do not apply CORS to it, so this is
   * the only defence against cross-site WebSocket hijacking. No Origin: not a browser.
   */
  private originAllowed(request: IncomingMessage): boolean {
    const origin = request.headers.origin;
    if (origin === undefined) {
      return true;
    }
    if (this.config.http.corsOrigins.includes(origin)) {
      return true;
    }
    try {
      return new URL(origin).host === request.headers.host;
    } catch {
      return false;
    }
  }

  private isUnderPressure(): boolean {
    const fastify = this.adapterHost.httpAdapter.getInstance<
      FastifyInstance & { isUnderPressure?: () => boolean }
    >();
    return fastify.isUnderPressure?.() ?? false;
  }
}

function tokenFromQuery(url: string | undefined): string | undefined {
  if (!url) {
    return undefined;
  }
  return new URL(url, 'ws://localhost').searchParams.get('token') ?? undefined;
}
