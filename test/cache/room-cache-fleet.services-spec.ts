import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { bearer, registerUser } from '@test/support/auth-helpers';
import {
  addMember,
  CachedAnswer,
  createRoom,
  leaveRoom,
  MessageBody,
  postMessage,
  readRoom,
} from '@test/support/room-helpers';
import { ServerProcess } from '@test/support/server-process';
import { createTestDatabase, TestDatabase } from '@test/support/test-database';
import { requireTestRedisUrl, testRedisEnvironment } from '@test/support/test-redis';
import { waitUntil } from '@test/support/wait-until';

/** Guarantee 5 across processes: far below the in-process tier's 5 s, so only the bus can do it. */
const CROSS_INSTANCE_MS = 1_000;

/**
 * Two server processes on one PostgreSQL and one Redis (one key prefix, one JWT secret), as a
 * fleet runs: a write on one invalidates what the other has cached within a second.
 */
describe('cached room reads across two server processes (services)', () => {
  let database: TestDatabase;
  const directories: string[] = [];
  let a: ServerProcess;
  let b: ServerProcess;

  beforeAll(async () => {
    requireTestRedisUrl();
    database = await createTestDatabase();
    const shared = {
      ...testRedisEnvironment(),
      JWT_SECRET: randomBytes(32).toString('hex'),
      DATABASE_URL: database.url,
    };
    const environment = () => {
      const directory = mkdtempSync(join(tmpdir(), 'switchboard-cache-fleet-'));
      directories.push(directory);
      return { ...shared, DATA_DIR: directory };
    };
    [a, b] = await Promise.all([
      ServerProcess.start(environment()),
      ServerProcess.start(environment()),
    ]);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await database?.drop();
    for (const directory of directories) {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  /** Reads on `b` until `done` holds; fails after CROSS_INSTANCE_MS. Returns the last answer. */
  async function readOnBUntil(
    read: () => Promise<CachedAnswer>,
    done: (answer: CachedAnswer) => boolean,
    what: string,
  ): Promise<CachedAnswer> {
    let last: CachedAnswer | undefined;
    await waitUntil(
      async () => {
        last = await read();
        return done(last);
      },
      CROSS_INSTANCE_MS,
      what,
    );
    return last!;
  }

  it('a page cached on A is a HIT on B (the Redis tier)', async () => {
    const owner = await registerUser(a);
    const room = await createRoom(a, owner);
    await postMessage(a, owner, room.id);

    const onA = await readRoom(a, owner, room.id, '/messages');
    const onB = await readRoom(b, owner, room.id, '/messages');

    expect(onA).toMatchObject({ status: 200, cache: 'MISS' });
    expect(onB).toMatchObject({ status: 200, cache: 'HIT' });
    expect(onB.text).toBe(onA.text);
  });

  it('a post on A invalidates the history page cached on B within 1 s', async () => {
    const owner = await registerUser(a);
    const room = await createRoom(a, owner);
    await postMessage(a, owner, room.id);
    const read = () => readRoom(b, owner, room.id, '/messages');
    await read();
    expect((await read()).cache).toBe('HIT');

    const posted = await postMessage(a, owner, room.id);

    const fresh = await readOnBUntil(
      read,
      (answer) => JSON.stringify(answer.body).includes(posted.id),
      'the new message in the history read on B',
    );
    expect(fresh.cache).toBe('MISS');
    expect((fresh.body as { items: MessageBody[] }).items.at(-1)?.id).toBe(posted.id);
  });

  it('a leave on A is a 404 on B within 1 s for the page cached there', async () => {
    const owner = await registerUser(a);
    const member = await registerUser(a);
    const room = await createRoom(a, owner, { visibility: 'private' });
    await addMember(a, owner, room.id, member.id);
    const read = () => readRoom(b, member, room.id, '/messages');
    await read();
    expect(await read()).toMatchObject({ status: 200, cache: 'HIT' });

    await leaveRoom(a, member, room.id);

    await readOnBUntil(read, (answer) => answer.status === 404, 'a 404 for the leaver on B');
    expect(await readRoom(b, owner, room.id, '/messages')).toMatchObject({ status: 200 });
  });

  it('deleting a room on A makes every cached read of it a 404 on B within 1 s', async () => {
    const owner = await registerUser(a);
    const room = await createRoom(a, owner);
    const read = () => readRoom(b, owner, room.id);
    await read();
    expect((await read()).cache).toBe('HIT');

    await request(a.server)
      .delete(`/api/rooms/${room.id}`)
      .set(bearer(owner.accessToken))
      .expect(204);

    await readOnBUntil(read, (answer) => answer.status === 404, 'a 404 for the deleted room on B');
  });
});
