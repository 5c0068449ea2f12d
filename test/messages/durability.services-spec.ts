import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { bearer, RegisteredUser, registerUser } from '@test/support/auth-helpers';
import { createRoom, MessageBody, readHistory } from '@test/support/room-helpers';
import { ServerEnvironment, ServerProcess } from '@test/support/server-process';
import {
  createTestDatabase,
  requireTestDatabaseUrl,
  TestDatabase,
} from '@test/support/test-database';
import { waitUntil } from '@test/support/wait-until';

const CLIENTS = 4;
const MAX_POSTS_PER_CLIENT = 5000;
const ACKNOWLEDGED_BEFORE_KILL = 150;
const REQUEST_TIMEOUT_MS = 5000;

/**
 * Guarantee 1 of PRODUCT.md: the server is SIGKILLed while clients post. After a restart every
 * acknowledged message is in the history with its id and seq, and retrying every send (answered
 * or not) with its clientMsgId stores nothing twice and leaves seq without a gap.
 */
describe.each([
  ['PostgreSQL', true],
  ['SQLite', false],
])('a crash while clients post, on %s', (_name, onPostgres) => {
  let database: TestDatabase | undefined;
  let environment: ServerEnvironment;
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    requireTestDatabaseUrl();
    database = onPostgres ? await createTestDatabase() : undefined;
    environment = {
      DATA_DIR: mkdtempSync(join(tmpdir(), 'switchboard-durability-')),
      JWT_SECRET: randomBytes(32).toString('hex'),
      DATABASE_URL: database?.url ?? '',
    };
  });

  afterAll(async () => {
    await Promise.all(servers.map((server) => server.kill()));
    await database?.drop();
    rmSync(environment.DATA_DIR, { recursive: true, force: true });
  });

  it('loses no acknowledged message and duplicates none on retry', async () => {
    const crashing = await ServerProcess.start(environment);
    servers.push(crashing);
    const sender = await registerUser(crashing);
    const room = await createRoom(crashing, sender);

    const attempted = new Map<string, string>();
    const acknowledged: MessageBody[] = [];
    let crashed = false;
    const post = (server: ServerProcess, user: RegisteredUser, clientMsgId: string) =>
      request(server.url)
        .post(`/api/rooms/${room.id}/messages`)
        .set(bearer(user.accessToken))
        .send({ body: attempted.get(clientMsgId), clientMsgId })
        .timeout(REQUEST_TIMEOUT_MS);

    const clients = Array.from({ length: CLIENTS }, async (_, c) => {
      for (let i = 0; i < MAX_POSTS_PER_CLIENT && !crashed; i++) {
        const clientMsgId = `client${c}-${i}`;
        attempted.set(clientMsgId, `client ${c} message ${i}`);
        try {
          const response = await post(crashing, sender, clientMsgId);
          if (response.status !== 201) {
            return;
          }
          acknowledged.push(response.body as MessageBody);
        } catch {
          // The connection died with the server: this send has no answer.
          return;
        }
      }
    });
    await waitUntil(
      () => acknowledged.length >= ACKNOWLEDGED_BEFORE_KILL,
      30_000,
      `${ACKNOWLEDGED_BEFORE_KILL} acknowledged messages`,
    );
    await crashing.kill();
    crashed = true;
    await Promise.all(clients);
    expect(acknowledged.length).toBeGreaterThanOrEqual(ACKNOWLEDGED_BEFORE_KILL);

    const restarted = await ServerProcess.start(environment);
    servers.push(restarted);

    const afterRestart = await readHistory(restarted, sender, room.id);
    const stored = new Map(afterRestart.map((message) => [message.id, message]));
    for (const message of acknowledged) {
      expect(stored.get(message.id)).toEqual(message);
    }
    expect(afterRestart.map((message) => message.seq)).toEqual(afterRestart.map((_, i) => i + 1));

    // Retry every send, answered or not, as a client that never saw its answer would.
    const byClientMsgId = new Map(acknowledged.map((message) => [message.clientMsgId, message]));
    for (const clientMsgId of attempted.keys()) {
      const response = await post(restarted, sender, clientMsgId).expect(201);
      const first = byClientMsgId.get(clientMsgId);
      if (first) {
        expect(response.body).toEqual(first);
      }
    }

    const final = await readHistory(restarted, sender, room.id);
    expect(final.map((message) => message.seq)).toEqual(
      Array.from({ length: attempted.size }, (_, i) => i + 1),
    );
    expect(final.map((message) => message.clientMsgId).sort()).toEqual(
      [...attempted.keys()].sort(),
    );
    for (const message of final) {
      expect(message.body).toBe(attempted.get(message.clientMsgId ?? ''));
    }
  }, 120_000);
});
