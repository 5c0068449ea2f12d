import { Client } from 'pg';
import request from 'supertest';
import { bearer, RegisteredUser, registerUser } from '@test/support/auth-helpers';
import { createRoom, joinRoom } from '@test/support/room-helpers';
import { useTestApp } from '@test/support/test-app';
import { requireTestDatabaseUrl } from '@test/support/test-database';
import { waitUntil } from '@test/support/wait-until';

/**
 * PostgreSQL undoes one transaction of a deadlock (40P01) and answers it with an error; the write
 * it was is retried, so the caller sees success, not 500. The deadlock is real: another
 * connection locks the rows the request needs in the opposite order.
 */
describe('a write that PostgreSQL picks as a deadlock victim (services)', () => {
  const testApp = useTestApp({ environment: { SHED_MAX_EVENT_LOOP_DELAY_MS: '0' } });
  let owner: RegisteredUser;

  beforeAll(async () => {
    requireTestDatabaseUrl();
    owner = await registerUser(testApp);
  });

  /** A connection of the test's own, beside the app's pool. */
  const connectLocker = async () => {
    const { database } = testApp.config;
    if (database.type !== 'postgres') {
      throw new Error('This suite needs PostgreSQL');
    }
    const locker = new Client({ connectionString: database.url });
    await locker.connect();
    // The request waits first and so detects the deadlock after 1 s; this session never does.
    await locker.query("SET deadlock_timeout = '60s'");
    return locker;
  };

  /** Whether a statement of the app starting with `prefix` waits for a row lock. */
  const waitsForLock = async (locker: Client, prefix: string) => {
    // Inside a transaction, pg_stat_activity is a snapshot taken at its first read.
    await locker.query('SELECT pg_stat_clear_snapshot()');
    const { rows } = await locker.query<{ waiting: number }>(
      `SELECT count(*)::int AS "waiting" FROM pg_stat_activity
       WHERE datname = current_database() AND pid <> pg_backend_pid()
         AND wait_event_type = 'Lock' AND query LIKE $1`,
      [`${prefix}%`],
    );
    return rows[0].waiting > 0;
  };

  it('deleting a room: 204 after the deadlock, the room gone', async () => {
    const room = await createRoom(testApp, owner);
    const member = await registerUser(testApp);
    await joinRoom(testApp, member, room.id);

    // The locker holds the membership rows; the delete takes the room row, then waits for them
    // (ON DELETE CASCADE); the locker then asks for the room row: a cycle.
    const locker = await connectLocker();
    await locker.query('BEGIN');
    await locker.query('SELECT 1 FROM "room_members" WHERE "roomId" = $1 FOR UPDATE', [room.id]);
    const deleting = request(testApp.server)
      .delete(`/api/rooms/${room.id}`)
      .set(bearer(owner.accessToken))
      .then((response) => response);
    let lockedRoom;
    try {
      await waitUntil(
        () => waitsForLock(locker, 'DELETE FROM "rooms"'),
        10_000,
        'the delete to wait',
      );
      lockedRoom = await locker.query('SELECT 1 FROM "rooms" WHERE "id" = $1 FOR UPDATE', [
        room.id,
      ]);
    } finally {
      await locker.query('COMMIT');
      await locker.end();
    }

    // Positive control: the locker got the room row while the room still existed, so the
    // request's first delete was undone by the deadlock.
    expect(lockedRoom.rowCount).toBe(1);
    const response = await deleting;
    expect({ status: response.status, body: response.body as unknown }).toEqual({
      status: 204,
      body: {},
    });
    await request(testApp.server)
      .get(`/api/rooms/${room.id}`)
      .set(bearer(owner.accessToken))
      .expect(404);
  });
});
