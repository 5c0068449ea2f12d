import { Agent } from 'node:http';
import { aMessage } from '@test/factories/room.factory';
import { bearer, registerUser } from '@test/support/auth-helpers';
import { HeldRequest } from '@test/support/held-request';
import { acceptsConnections } from '@test/support/network';
import { createRoom, readRoom } from '@test/support/room-helpers';
import { createServerSetup, ServerProcess, ServerSetup } from '@test/support/server-process';
import { requireTestRedisUrl } from '@test/support/test-redis';
import { waitUntil } from '@test/support/wait-until';

const SHUTDOWN_TIMEOUT_MS = 8000;
/** Milliseconds, not the cache TTL (PRODUCT.md, guarantee 5); generous for a busy machine. */
const BUS_DELAY_MS = 1000;

function seqsOf(body: unknown): number[] {
  return (body as { items: { seq: number }[] }).items.map((message) => message.seq);
}

/**
 * Guarantee 5 across a restart: a write still in flight when its instance drains is committed,
 * and its invalidation reaches the other instance, because Redis closes only after the HTTP drain.
 */
describe('a write in flight during the drain (services)', () => {
  let setup: ServerSetup;
  let draining: ServerProcess;
  let other: ServerProcess;
  const agent = new Agent({ keepAlive: true });

  beforeAll(async () => {
    requireTestRedisUrl();
    setup = await createServerSetup({
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      SHUTDOWN_DRAIN_DELAY_MS: '200',
      // Long enough that only an invalidation, never an expiry, can refresh the page.
      CACHE_TTL_MS: '600000',
    });
    [draining, other] = await Promise.all([
      ServerProcess.start(setup.environment),
      ServerProcess.start(setup.environment),
    ]);
  });

  afterAll(async () => {
    agent.destroy();
    await Promise.all([draining?.kill(), other?.kill()]);
    await setup?.remove();
  });

  it("reaches the other instance's cached history", async () => {
    const user = await registerUser(other);
    const room = await createRoom(other, user);
    await readRoom(other, user, room.id, '/messages');
    const cached = await readRoom(other, user, room.id, '/messages');
    expect(cached).toMatchObject({ status: 200, cache: 'HIT' });
    expect(seqsOf(cached.body)).toEqual([]);

    const post = new HeldRequest(
      agent,
      draining.url,
      `/api/rooms/${room.id}/messages`,
      aMessage(),
      bearer(user.accessToken),
    );
    await post.received;
    draining.signal('SIGTERM');
    await waitUntil(
      async () => !(await acceptsConnections(draining.port)),
      SHUTDOWN_TIMEOUT_MS,
      'the draining instance to close its port',
    );

    const answer = await post.finish();
    expect(answer.status).toBe(201);
    expect(JSON.parse(answer.body)).toMatchObject({ seq: 1 });

    const postedAt = Date.now();
    await waitUntil(
      async () => seqsOf((await readRoom(other, user, room.id, '/messages')).body).includes(1),
      BUS_DELAY_MS,
      'the other instance to drop its stale page',
    );
    expect(Date.now() - postedAt).toBeLessThan(BUS_DELAY_MS);
    expect(await draining.waitForExit(SHUTDOWN_TIMEOUT_MS)).toEqual({ code: 0, signal: null });
  });
});
