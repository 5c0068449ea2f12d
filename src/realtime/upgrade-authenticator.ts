import { IncomingMessage } from 'node:http';
import { Inject, Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { APP_CONFIG, AppConfig } from '@config';
import { REDIS_CONNECTION, RedisConnection } from '@libs/redis';
import { bearerToken } from '@app/auth/access-token.guard';
import { AccessTokensService } from '@app/auth/access-tokens.service';
import { AuthenticatedUser } from '@app/auth/authenticated-user';
import { SHED_RETRY_AFTER_SECONDS } from '@app/bootstrap/load-shedding';
import { clientAddressResolver } from '@app/common/client-address';
import { MetricsService } from '@app/metrics/metrics.service';
import { SettledRateLimit } from '@app/throttling/settled-rate-limit';
import { ConnectionRegistry } from './connection-registry';
import { AdmissionRefusal, UpgradeAdmission } from './upgrade-admission';

/** Why an upgrade was refused: the `reason` label of `ws_upgrades_refused_total`. */
export type UpgradeRefusalReason =
  | 'shutting_down'
  | 'overloaded'
  | 'connection_limit'
  | AdmissionRefusal
  | 'connect_limit'
  | 'origin'
  | 'unauthenticated';

export type UpgradeVerdict =
  | { accepted: true; user: AuthenticatedUser }
  | {
      accepted: false;
      status: number;
      reason: UpgradeRefusalReason;
      message: string;
      headers?: Record<string, string>;
    };

const RETRY_LATER = { 'Retry-After': String(SHED_RETRY_AFTER_SECONDS) };
/** A storm's clients come back soon, spread by their own jitter: the bucket refills each second. */
export const ADMISSION_RETRY_AFTER_SECONDS = 1;

const SHUTTING_DOWN: UpgradeVerdict = {
  accepted: false,
  status: 503,
  reason: 'shutting_down',
  message: 'Shutting down',
  headers: RETRY_LATER,
};

/**
 * Decides an upgrade to `/ws` before the 101, so a refused client never gets a socket: 503 while
 * the instance is shutting down, saturated, full, or past its accept rate (UpgradeAdmission);
 * 429 past the per-address connection rate; 403 for a page of a foreign origin; 401 without a
 * valid access token (header, or `?token=` for browsers).
 */
@Injectable()
export class UpgradeAuthenticator {
  private readonly usersByRequest = new WeakMap<IncomingMessage, AuthenticatedUser>();
  private accepting = true;
  private readonly clientAddressOf: (request: IncomingMessage) => string;
  private readonly admission: UpgradeAdmission;
  private readonly connectAttempts: SettledRateLimit;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly accessTokens: AccessTokensService,
    private readonly connections: ConnectionRegistry,
    private readonly adapterHost: HttpAdapterHost,
    @Inject(REDIS_CONNECTION) redis: RedisConnection | null,
    metrics: MetricsService,
  ) {
    this.clientAddressOf = clientAddressResolver(config.http.trustProxy);
    this.admission = new UpgradeAdmission(config.websocket.accept);
    // Fleet-wide with Redis, settled in batches: no round trip on an upgrade's path.
    this.connectAttempts = new SettledRateLimit(
      'ws-connect',
      { limit: config.websocket.connectLimit, ttlMs: config.throttle.ttlMs },
      redis,
    );
    const connectAttempts = this.connectAttempts;
    metrics.registryEntries('ws_connect_limit_windows', () => connectAttempts.trackedKeys);
  }

  /** From now on every upgrade gets 503 (the server is draining), also one being verified. */
  stopAccepting(): void {
    this.accepting = false;
  }

  async verify(request: IncomingMessage): Promise<UpgradeVerdict> {
    if (!this.accepting) {
      return SHUTTING_DOWN;
    }
    if (this.isUnderPressure()) {
      return refusal(503, 'overloaded', 'Overloaded', RETRY_LATER);
    }
    if (this.connections.size >= this.config.websocket.maxConnections) {
      return refusal(503, 'connection_limit', 'Connection limit reached', RETRY_LATER);
    }
    const notAdmitted = this.admission.tryAdmit();
    if (notAdmitted) {
      return refusal(503, notAdmitted, 'Too many connections at once; retry later', {
        'Retry-After': String(ADMISSION_RETRY_AFTER_SECONDS),
      });
    }
    try {
      const verdict = await this.verifyAdmitted(request);
      // The drain may have closed the sockets while this one was verified: it must not open now.
      return verdict.accepted && !this.accepting ? SHUTTING_DOWN : verdict;
    } finally {
      this.admission.release();
    }
  }

  private async verifyAdmitted(request: IncomingMessage): Promise<UpgradeVerdict> {
    const retryAfterSeconds = this.connectAttempts.hit(
      `ws-connect:${this.clientAddressOf(request)}`,
    );
    if (retryAfterSeconds > 0) {
      return refusal(429, 'connect_limit', 'Too many connection attempts', {
        'Retry-After': String(retryAfterSeconds),
      });
    }
    if (!this.originAllowed(request)) {
      return refusal(403, 'origin', 'Origin not allowed');
    }
    const token = bearerToken(request.headers.authorization) ?? tokenFromQuery(request.url);
    const user = token && (await this.accessTokens.authenticate(token));
    if (!user) {
      return refusal(401, 'unauthenticated', 'A valid access token is required');
    }
    this.usersByRequest.set(request, user);
    return { accepted: true, user };
  }

  /** The user `verify` accepted for this upgrade request. */
  userOf(request: IncomingMessage): AuthenticatedUser | undefined {
    return this.usersByRequest.get(request);
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

function refusal(
  status: number,
  reason: UpgradeRefusalReason,
  message: string,
  headers?: Record<string, string>,
): UpgradeVerdict {
  return headers
    ? { accepted: false, status, reason, message, headers }
    : { accepted: false, status, reason, message };
}

function tokenFromQuery(url: string | undefined): string | undefined {
  if (!url) {
    return undefined;
  }
  return new URL(url, 'ws://localhost').searchParams.get('token') ?? undefined;
}
