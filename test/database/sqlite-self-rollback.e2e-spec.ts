import { DataSource } from 'typeorm';
import { MessagesService } from '@app/messages/messages.service';
import { RegisteredUser, registerUser } from '@test/support/auth-helpers';
import { createRoom, postMessage, readHistory } from '@test/support/room-helpers';
import { useTestApp } from '@test/support/test-app';

/** A body that makes SQLite roll back the whole transaction it is inserted in, as SQLITE_FULL can. */
const POISON = 'poison: SQLite rolls the whole transaction back';

/**
 * SQLite, not PostgreSQL, also under test:services: on some errors (SQLITE_FULL, I/O errors,
 * RAISE(ROLLBACK)) SQLite ends the transaction by itself. The group commit of the writer then
 * holds nothing any more; each caller must be told what is really stored.
 */
describe('SQLite rolls a group transaction back by itself (e2e)', () => {
  const testApp = useTestApp({
    database: { url: '', drop: async () => {} },
    // What is shown here is not load: no 503 on a busy test machine.
    environment: { SHED_MAX_EVENT_LOOP_DELAY_MS: '0' },
  });
  let dataSource: DataSource;
  let sender: RegisteredUser;

  beforeAll(async () => {
    dataSource = testApp.app.get(DataSource);
    expect(dataSource.options.type).toBe('better-sqlite3');
    sender = await registerUser(testApp);
    await dataSource.query(
      `CREATE TRIGGER "test_poison" BEFORE INSERT ON "messages" WHEN NEW."body" = '${POISON}'
       BEGIN SELECT RAISE(ROLLBACK, 'poisoned'); END`,
    );
  });

  it('tells every caller of the group the truth, and the next group starts clean', async () => {
    const room = await createRoom(testApp, sender);
    const messages = testApp.app.get(MessagesService);
    const bodies = ['before the poison', POISON, 'after the poison', 'last of the group'];

    // Submitted in one turn of the event loop: one group, one transaction.
    const answers = await Promise.allSettled(
      bodies.map((body) => messages.post(sender.id, room.id, body)),
    );

    const stored = new Set((await readHistory(testApp, sender, room.id)).map((m) => m.body));
    const told = bodies.map((body, index) => ({
      body,
      toldStored: answers[index].status === 'fulfilled',
      stored: stored.has(body),
    }));
    expect(told.filter((answer) => answer.toldStored !== answer.stored)).toEqual([]);
    expect(told.find((answer) => answer.body === POISON)).toEqual(
      expect.objectContaining({ toldStored: false, stored: false }),
    );

    // Positive control: the writer goes on; seq has no gap.
    await postMessage(testApp, sender, room.id, { body: 'the next group' });
    const history = await readHistory(testApp, sender, room.id);
    expect(history.map((message) => message.body)).toContain('the next group');
    expect(history.map((message) => message.seq)).toEqual(history.map((_, i) => i + 1));
  });
});
