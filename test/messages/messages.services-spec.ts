import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { bearer, RegisteredUser, registerUser } from '@test/support/auth-helpers';
import {
  createRoom,
  joinRoom,
  MessageBody,
  postMessage,
  readHistory,
} from '@test/support/room-helpers';
import { ServerProcess } from '@test/support/server-process';
import {
  createTestDatabase,
  requireTestDatabaseUrl,
  TestDatabase,
} from '@test/support/test-database';

const WRITERS = 8;
const MESSAGES_PER_WRITER = 200;
const REQUEST_TIMEOUT_MS = 15_000;

/**
 * Guarantees 2 and 3 of PRODUCT.md with two server processes writing to one database at once:
 * PostgreSQL (what a fleet runs) and one SQLite file (two processes on one machine).
 */
describe.each([
  ['PostgreSQL', true],
  ['one SQLite file', false],
])('two server processes on %s', (_name, onPostgres) => {
  let database: TestDatabase | undefined;
  const dataDirectories: string[] = [];
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    requireTestDatabaseUrl();
    database = onPostgres ? await createTestDatabase() : undefined;
    const sharedDirectory = mkdtempSync(join(tmpdir(), 'switchboard-processes-'));
    dataDirectories.push(sharedDirectory);
    const jwtSecret = randomBytes(32).toString('hex');
    const environmentFor = () => {
      // On PostgreSQL each process has a data directory of its own, as on separate machines.
      const dataDirectory = onPostgres
        ? mkdtempSync(join(tmpdir(), 'switchboard-processes-'))
        : sharedDirectory;
      dataDirectories.push(dataDirectory);
      return { DATA_DIR: dataDirectory, JWT_SECRET: jwtSecret, DATABASE_URL: database?.url ?? '' };
    };
    if (onPostgres) {
      // Both at once: their migrations take turns under an advisory lock.
      servers.push(
        ...(await Promise.all([
          ServerProcess.start(environmentFor()),
          ServerProcess.start(environmentFor()),
        ])),
      );
    } else {
      servers.push(await ServerProcess.start(environmentFor()));
      servers.push(await ServerProcess.start(environmentFor()));
    }
  }, 90_000);

  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop()));
    await database?.drop();
    for (const directory of dataDirectories) {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it(`${WRITERS} concurrent writers × ${MESSAGES_PER_WRITER} messages into one room get exactly seq 1..${WRITERS * MESSAGES_PER_WRITER}`, async () => {
    const owner = await registerUser(servers[0]);
    const room = await createRoom(servers[0], owner);
    const writers = await Promise.all(
      Array.from({ length: WRITERS }, (_, w) => registerUser(servers[w % 2])),
    );
    await Promise.all(writers.map((writer, w) => joinRoom(servers[(w + 1) % 2], writer, room.id)));

    const acknowledged = await Promise.all(
      writers.map(async (writer, w) => {
        const mine: MessageBody[] = [];
        for (let i = 0; i < MESSAGES_PER_WRITER; i++) {
          // Each writer alternates between the two processes.
          const response = await request(servers[(w + i) % 2].url)
            .post(`/api/rooms/${room.id}/messages`)
            .set(bearer(writer.accessToken))
            .send({ body: `writer ${w} message ${i}`, clientMsgId: `w${w}-${i}` })
            .timeout(REQUEST_TIMEOUT_MS)
            .expect(201);
          mine.push(response.body as MessageBody);
        }
        return mine;
      }),
    );

    const total = WRITERS * MESSAGES_PER_WRITER;
    for (const mine of acknowledged) {
      const seqs = mine.map((message) => message.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }
    for (const server of servers) {
      const history = await readHistory(server, owner, room.id);
      expect(history.map((message) => message.seq)).toEqual(
        Array.from({ length: total }, (_, i) => i + 1),
      );
      expect(new Set(history.map((message) => message.id))).toEqual(
        new Set(acknowledged.flat().map((message) => message.id)),
      );
    }
    const roomNow = await request(servers[1].url)
      .get(`/api/rooms/${room.id}`)
      .set(bearer(owner.accessToken))
      .expect(200);
    expect(roomNow.body.lastSeq).toBe(total);
  }, 300_000);

  it('10 simultaneous posts with one clientMsgId, on both processes, store one message', async () => {
    const sender = await registerUser(servers[0]);
    const room = await createRoom(servers[1], sender);
    await postMessage(servers[0], sender, room.id);

    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        request(servers[i % 2].url)
          .post(`/api/rooms/${room.id}/messages`)
          .set(bearer(sender.accessToken))
          .send({ body: `attempt ${i}`, clientMsgId: 'one-and-only' })
          .timeout(REQUEST_TIMEOUT_MS),
      ),
    );

    expect(responses.map((response) => response.status)).toEqual(Array(10).fill(201));
    expect(new Set(responses.map((response) => response.body.id)).size).toBe(1);
    expect(new Set(responses.map((response) => response.body.seq))).toEqual(new Set([2]));
    const history = await readHistory(servers[1], sender, room.id);
    expect(history.map((message) => message.seq)).toEqual([1, 2]);
    expect(history[1]).toEqual(responses[0].body);
  });

  it('one direct room per pair when both users write first at once, on different processes', async () => {
    const pairs: [RegisteredUser, RegisteredUser][] = [];
    for (let p = 0; p < 4; p++) {
      pairs.push([await registerUser(servers[0]), await registerUser(servers[1])]);
    }

    const messages = await Promise.all(
      pairs.flatMap(([a, b]) =>
        [
          [a, b, servers[0]],
          [b, a, servers[1]],
        ].map(async ([from, to, server]) => {
          const response = await request((server as ServerProcess).url)
            .post(`/api/users/${(to as RegisteredUser).id}/messages`)
            .set(bearer((from as RegisteredUser).accessToken))
            .send({ body: 'hello' })
            .timeout(REQUEST_TIMEOUT_MS)
            .expect(201);
          return response.body as MessageBody;
        }),
      ),
    );

    for (let p = 0; p < pairs.length; p++) {
      const [first, second] = messages.slice(p * 2, p * 2 + 2);
      expect(second.roomId).toBe(first.roomId);
      expect([first.seq, second.seq].sort()).toEqual([1, 2]);
    }
    expect(new Set(messages.map((message) => message.roomId)).size).toBe(pairs.length);
  });
});
