import type { IncomingMessage } from 'node:http';
import { HttpAdapterHost } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { APP_CONFIG, loadConfig } from '@config';
import { REDIS_CONNECTION } from '@libs/redis';
import { AccessTokensService } from '@app/auth/access-tokens.service';
import { AuthenticatedUser } from '@app/auth/authenticated-user';
import { MetricsService } from '@app/metrics/metrics.service';
import { ConnectionRegistry } from './connection-registry';
import { UpgradeAuthenticator } from './upgrade-authenticator';

const USER: AuthenticatedUser = {
  id: '8b027f08-0000-4000-8000-000000000001',
  sessionId: '8b027f08-0000-4000-8000-000000000002',
  expiresAt: new Date(Date.now() + 60_000),
};

/** Token checks that answer only when the test says so: an upgrade held mid-verification. */
class HeldTokenChecks implements Pick<AccessTokensService, 'authenticate'> {
  private readonly waiting: ((user: AuthenticatedUser | null) => void)[] = [];

  authenticate(): Promise<AuthenticatedUser | null> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  get held(): number {
    return this.waiting.length;
  }

  answerAll(user: AuthenticatedUser | null): void {
    this.waiting.splice(0).forEach((resolve) => resolve(user));
  }
}

async function setUp(environment: Record<string, string> = {}) {
  const tokens = new HeldTokenChecks();
  const registry: Pick<ConnectionRegistry, 'size'> = { size: 0 };
  const adapterHost = { httpAdapter: { getInstance: () => ({}) } };
  const module = await Test.createTestingModule({
    providers: [
      UpgradeAuthenticator,
      { provide: APP_CONFIG, useValue: loadConfig({ NODE_ENV: 'test', ...environment }) },
      { provide: AccessTokensService, useValue: tokens },
      { provide: ConnectionRegistry, useValue: registry },
      { provide: HttpAdapterHost, useValue: adapterHost },
      // No Redis: the connect limit counts in this process.
      { provide: REDIS_CONNECTION, useValue: null },
      MetricsService,
    ],
  }).compile();
  return { authenticator: module.get(UpgradeAuthenticator), tokens };
}

const anUpgrade = () =>
  ({
    headers: { authorization: 'Bearer a-token', host: 'localhost' },
    url: '/ws',
    socket: { remoteAddress: '127.0.0.1' },
  }) as unknown as IncomingMessage;

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe(UpgradeAuthenticator.name, () => {
  it('refuses an upgrade whose verification ends after the drain stopped accepting', async () => {
    const { authenticator, tokens } = await setUp();
    const before = authenticator.verify(anUpgrade());
    await settle();
    // Positive control: verified while accepting, an upgrade is accepted.
    tokens.answerAll(USER);
    expect(await before).toEqual({ accepted: true, user: USER });
    const held = authenticator.verify(anUpgrade());
    await settle();

    authenticator.stopAccepting();
    tokens.answerAll(USER);

    expect(await held).toMatchObject({
      accepted: false,
      status: 503,
      reason: 'shutting_down',
      headers: { 'Retry-After': expect.any(String) },
    });
  });

  it('answers 503 + Retry-After past WS_ACCEPT_CONCURRENCY upgrades being verified, before any work', async () => {
    const { authenticator, tokens } = await setUp({ WS_ACCEPT_CONCURRENCY: '2' });
    const first = authenticator.verify(anUpgrade());
    const second = authenticator.verify(anUpgrade());
    await settle();

    expect(await authenticator.verify(anUpgrade())).toEqual({
      accepted: false,
      status: 503,
      reason: 'accept_concurrency',
      message: expect.any(String),
      headers: { 'Retry-After': '1' },
    });
    // Refused before its token was checked.
    expect(tokens.held).toBe(2);

    tokens.answerAll(USER);
    expect(await Promise.all([first, second])).toEqual([
      { accepted: true, user: USER },
      { accepted: true, user: USER },
    ]);
    // Their places are free again.
    const third = authenticator.verify(anUpgrade());
    await settle();
    tokens.answerAll(USER);
    expect(await third).toEqual({ accepted: true, user: USER });
  });
});
