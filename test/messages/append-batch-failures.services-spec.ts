import { DataSource } from 'typeorm';
import { MessagesService } from '@app/messages/messages.service';
import { RegisteredUser, registerUser } from '@test/support/auth-helpers';
import { createRoom, readHistory } from '@test/support/room-helpers';
import { useTestApp } from '@test/support/test-app';
import { requireTestDatabaseUrl } from '@test/support/test-database';

/**
 * PostgreSQL stores the appends of a moment in one statement. When it fails, only a fault of the
 * rows (SQLSTATE class 22 or 23) is worth running each row alone; a fault of the database fails
 * the batch as a whole, without one more statement per row against a database in trouble.
 * A trigger fails the inserts of chosen bodies with a chosen SQLSTATE, and counts them (a
 * sequence: its count survives the rollback).
 */
describe('a batch of appends that PostgreSQL refuses (services)', () => {
  // What is shown here is not load: no 503 on a busy test machine.
  const testApp = useTestApp({ environment: { SHED_MAX_EVENT_LOOP_DELAY_MS: '0' } });
  let dataSource: DataSource;
  let sender: RegisteredUser;

  beforeAll(async () => {
    requireTestDatabaseUrl();
    dataSource = testApp.app.get(DataSource);
    sender = await registerUser(testApp);
    await dataSource.query(`
      CREATE SEQUENCE "test_refused_inserts";
      CREATE FUNCTION "test_refuse_insert"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW."body" LIKE 'bad row%' THEN
          PERFORM nextval('test_refused_inserts');
          RAISE EXCEPTION 'this row breaks a rule' USING ERRCODE = '23514';
        END IF;
        IF NEW."body" LIKE 'database trouble%' THEN
          PERFORM nextval('test_refused_inserts');
          RAISE EXCEPTION 'the disk is full' USING ERRCODE = '53100';
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER "test_refuse_insert" BEFORE INSERT ON "messages"
        FOR EACH ROW EXECUTE FUNCTION "test_refuse_insert"();`);
  });

  /** How many inserts the trigger refused so far. */
  const refusedInserts = async () => {
    const [row] = await dataSource.query<{ count: string }[]>(
      `SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS "count" FROM "test_refused_inserts"`,
    );
    return Number(row.count);
  };

  /** Posts `bodies` in one turn of the event loop (one batch) to a new room. */
  const postTogether = async (bodies: string[]) => {
    const room = await createRoom(testApp, sender);
    const messages = testApp.app.get(MessagesService);
    const answers = await Promise.allSettled(
      bodies.map((body) => messages.post(sender.id, room.id, body)),
    );
    const stored = (await readHistory(testApp, sender, room.id)).map((message) => message.body);
    return { answers: answers.map((answer) => answer.status), stored };
  };

  it('positive control: a bad row (class 23) fails alone, the others are stored', async () => {
    const before = await refusedInserts();

    const { answers, stored } = await postTogether(['good 1', 'bad row', 'good 2']);

    expect(answers).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(stored).toEqual(['good 1', 'good 2']);
    // Once in the batch, once alone.
    expect((await refusedInserts()) - before).toBe(2);
  });

  it('a fault of the database fails every caller of the batch, with no statement per row', async () => {
    const before = await refusedInserts();

    const { answers, stored } = await postTogether(['first', 'database trouble', 'third']);

    expect(answers).toEqual(['rejected', 'rejected', 'rejected']);
    expect(stored).toEqual([]);
    expect((await refusedInserts()) - before).toBe(1);
  });
});
