import { readFileSync } from 'node:fs';
import { DataSource } from 'typeorm';
import WebSocket from 'ws';
import { CheckedWebSocket } from '@test/support/checked-web-socket';
import {
  deleteRoomMessage,
  editRoomMessage,
  getRoom,
  postRoomMessage,
  RealtimeClient,
  RealtimeMessage,
} from '@libs/client';
import { toPostgresPlaceholders } from '@app/database/database-writer';
import { MISSING_ID } from '@test/factories/ids';
import { aMessage } from '@test/factories/room.factory';
import { apiClient, expectStatus, HttpTarget } from '@test/support/api-client';
import { RegisteredUser, registerUser } from '@test/support/auth-helpers';
import {
  addMember,
  createRoom,
  joinRoom,
  MessageBody,
  postMessage,
  readHistory,
  readRoom,
} from '@test/support/room-helpers';
import { useTestApp } from '@test/support/test-app';
import { waitUntil } from '@test/support/wait-until';
import { useWsTestClients } from '@test/support/ws-test-client';

const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** The status and error code of a call that is expected to fail. */
async function refusal(
  call: Promise<{ error?: unknown; response: Response }>,
): Promise<{ status: number; code: unknown }> {
  const { error, response } = await call;
  return { status: response.status, code: (error as { code?: unknown } | undefined)?.code };
}

function edit(
  target: HttpTarget,
  editor: RegisteredUser,
  roomId: string,
  messageId: string,
  body: string,
  clientMsgId?: string,
) {
  return editRoomMessage({
    client: apiClient(target, editor.accessToken),
    path: { id: roomId, messageId },
    body: clientMsgId === undefined ? { body } : { body, clientMsgId },
  });
}

function remove(target: HttpTarget, caller: RegisteredUser, roomId: string, messageId: string) {
  return deleteRoomMessage({
    client: apiClient(target, caller.accessToken),
    path: { id: roomId, messageId },
  });
}

describe('message edits and deletes (e2e)', () => {
  const testApp = useTestApp();
  const sockets = useWsTestClients();
  let owner: RegisteredUser;
  let alice: RegisteredUser;
  let bob: RegisteredUser;

  beforeAll(async () => {
    [owner, alice, bob] = await Promise.all([
      registerUser(testApp),
      registerUser(testApp),
      registerUser(testApp),
    ]);
  });

  /** A public room of `owner` that alice and bob joined, with one message of alice's. */
  async function roomWithMessage(): Promise<{ roomId: string; message: MessageBody }> {
    const room = await createRoom(testApp, owner);
    await joinRoom(testApp, alice, room.id);
    await joinRoom(testApp, bob, room.id);
    const message = await postMessage(testApp, alice, room.id, { body: 'the first text' });
    return { roomId: room.id, message };
  }

  describe('PATCH /api/rooms/:id/messages/:messageId', () => {
    it('the sender edits: 200 with the edit entry at the next seq; history shows the new text', async () => {
      const { roomId, message } = await roomWithMessage();

      const entry = await expectStatus(
        edit(testApp, alice, roomId, message.id, 'the second text', 'edit-1'),
        200,
      );

      expect(entry).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        roomId,
        seq: 2,
        senderId: alice.id,
        body: 'the second text',
        clientMsgId: 'edit-1',
        createdAt: expect.stringMatching(TIMESTAMP),
        kind: 'edit',
        messageId: message.id,
        editedAt: null,
        deletedAt: null,
      });
      expect(await readHistory(testApp, bob, roomId)).toEqual([
        { ...message, body: 'the second text', editedAt: entry.createdAt },
        entry,
      ]);
      const after = await postMessage(testApp, bob, roomId);
      expect(after.seq).toBe(3);
    });

    it('a retry with the same clientMsgId answers the first edit entry; another use of it is 409', async () => {
      const { roomId, message } = await roomWithMessage();
      const other = await postMessage(testApp, alice, roomId);
      const first = await expectStatus(edit(testApp, alice, roomId, message.id, 'v2', 'k'), 200);

      const retry = await expectStatus(edit(testApp, alice, roomId, message.id, 'v2', 'k'), 200);

      expect(retry).toEqual(first);
      expect(await refusal(edit(testApp, alice, roomId, other.id, 'v2', 'k'))).toEqual({
        status: 409,
        code: 'conflict',
      });
      // A send's clientMsgId is not an edit's, nor the other way round.
      expect(
        await refusal(edit(testApp, alice, roomId, message.id, 'v3', message.clientMsgId!)),
      ).toEqual({ status: 409, code: 'conflict' });
      expect(
        await refusal(
          postRoomMessage({
            client: apiClient(testApp, alice.accessToken),
            path: { id: roomId },
            body: aMessage({ clientMsgId: 'k' }),
          }),
        ),
      ).toEqual({ status: 409, code: 'conflict' });
      const history = await readHistory(testApp, alice, roomId);
      expect(history.map((entry) => [entry.seq, entry.kind])).toEqual([
        [1, 'message'],
        [2, 'message'],
        [3, 'edit'],
      ]);
    });

    it("editing someone else's message is 403; the message keeps its text", async () => {
      const { roomId, message } = await roomWithMessage();

      expect(await refusal(edit(testApp, bob, roomId, message.id, 'not mine'))).toEqual({
        status: 403,
        code: 'forbidden',
      });
      // Not even the room's owner edits it.
      expect(await refusal(edit(testApp, owner, roomId, message.id, 'not mine'))).toEqual({
        status: 403,
        code: 'forbidden',
      });
      expect(await readHistory(testApp, bob, roomId)).toEqual([message]);
      await expectStatus(edit(testApp, alice, roomId, message.id, 'mine'), 200);
    });

    it('a non-member gets 404 for a private room and 403 not_a_member for a public one', async () => {
      const privateRoom = await createRoom(testApp, owner, { visibility: 'private' });
      await addMember(testApp, owner, privateRoom.id, alice.id);
      const hidden = await postMessage(testApp, alice, privateRoom.id);
      const { roomId, message } = await roomWithMessage();
      const stranger = await registerUser(testApp);

      expect(await refusal(edit(testApp, stranger, privateRoom.id, hidden.id, 'x'))).toEqual({
        status: 404,
        code: 'not_found',
      });
      expect(await refusal(edit(testApp, stranger, roomId, message.id, 'x'))).toEqual({
        status: 403,
        code: 'not_a_member',
      });
      expect(await refusal(remove(testApp, stranger, privateRoom.id, hidden.id))).toEqual({
        status: 404,
        code: 'not_found',
      });
      await expectStatus(edit(testApp, alice, privateRoom.id, hidden.id, 'x'), 200);
    });

    it('404 for a message that is not in the room, or is an edit or delete entry', async () => {
      const { roomId, message } = await roomWithMessage();
      const elsewhere = await roomWithMessage();
      const entry = await expectStatus(edit(testApp, alice, roomId, message.id, 'v2'), 200);

      for (const messageId of [MISSING_ID, elsewhere.message.id, entry.id]) {
        expect(await refusal(edit(testApp, alice, roomId, messageId, 'v3'))).toEqual({
          status: 404,
          code: 'not_found',
        });
      }
      expect(await refusal(remove(testApp, alice, roomId, entry.id))).toEqual({
        status: 404,
        code: 'not_found',
      });
      await expectStatus(edit(testApp, alice, roomId, message.id, 'v3'), 200);
    });

    it('an edit after a delete is 409', async () => {
      const { roomId, message } = await roomWithMessage();
      await expectStatus(remove(testApp, alice, roomId, message.id), 200);

      expect(await refusal(edit(testApp, alice, roomId, message.id, 'too late'))).toEqual({
        status: 409,
        code: 'conflict',
      });
      expect((await readHistory(testApp, alice, roomId)).map((entry) => entry.kind)).toEqual([
        'message',
        'delete',
      ]);
    });

    it('invalidates the cached history: the next read shows the new text', async () => {
      const { roomId, message } = await roomWithMessage();
      await readRoom(testApp, bob, roomId, '/messages');
      expect((await readRoom(testApp, bob, roomId, '/messages')).cache).toBe('HIT');

      await expectStatus(edit(testApp, alice, roomId, message.id, 'fresh text'), 200);

      const read = await readRoom(testApp, bob, roomId, '/messages');
      expect(read.cache).toBe('MISS');
      expect((read.body as { items: MessageBody[] }).items[0].body).toBe('fresh text');
    });
  });

  describe('DELETE /api/rooms/:id/messages/:messageId', () => {
    it('the sender deletes: a tombstone, and a delete entry at the next seq', async () => {
      const { roomId, message } = await roomWithMessage();
      const edited = await expectStatus(edit(testApp, alice, roomId, message.id, 'v2'), 200);

      const entry = await expectStatus(remove(testApp, alice, roomId, message.id), 200);

      expect(entry).toMatchObject({
        roomId,
        seq: 3,
        senderId: alice.id,
        body: '',
        clientMsgId: null,
        kind: 'delete',
        messageId: message.id,
        editedAt: null,
        deletedAt: null,
      });
      expect(await readHistory(testApp, bob, roomId)).toEqual([
        { ...message, body: '', editedAt: edited.createdAt, deletedAt: entry.createdAt },
        { ...edited, body: '' },
        entry,
      ]);
    });

    it("the room's owner deletes anyone's message; another member gets 403", async () => {
      const { roomId, message } = await roomWithMessage();

      expect(await refusal(remove(testApp, bob, roomId, message.id))).toEqual({
        status: 403,
        code: 'forbidden',
      });
      expect((await readHistory(testApp, bob, roomId)).map((entry) => entry.kind)).toEqual([
        'message',
      ]);

      const entry = await expectStatus(remove(testApp, owner, roomId, message.id), 200);
      expect(entry).toMatchObject({ seq: 2, senderId: owner.id, kind: 'delete' });
    });

    it('deleting twice stores one delete entry and answers it both times', async () => {
      const { roomId, message } = await roomWithMessage();
      const first = await expectStatus(remove(testApp, alice, roomId, message.id), 200);

      const again = await expectStatus(remove(testApp, owner, roomId, message.id), 200);

      expect(again).toEqual(first);
      const history = await readHistory(testApp, alice, roomId);
      expect(history.map((entry) => entry.kind)).toEqual(['message', 'delete']);
      expect((await postMessage(testApp, alice, roomId)).seq).toBe(3);
    });

    it('counts as unread for the other members, not for the one who made it', async () => {
      const { roomId, message } = await roomWithMessage();
      const unread = async (user: RegisteredUser) =>
        (
          await expectStatus(
            getRoom({ client: apiClient(testApp, user.accessToken), path: { id: roomId } }),
            200,
          )
        ).unreadCount;
      expect([await unread(alice), await unread(bob)]).toEqual([0, 1]);

      await expectStatus(edit(testApp, alice, roomId, message.id, 'v2'), 200);
      expect([await unread(alice), await unread(bob), await unread(owner)]).toEqual([0, 2, 2]);

      await expectStatus(remove(testApp, owner, roomId, message.id), 200);
      expect([await unread(alice), await unread(bob), await unread(owner)]).toEqual([1, 3, 0]);
    });

    it('erases the text from storage: the rows, and (SQLite) the database file once checkpointed', async () => {
      const { roomId, message } = await roomWithMessage();
      const secret = `secret-${Date.now()}-${Math.random().toString(36).slice(2)}`;
      const edited = await expectStatus(edit(testApp, alice, roomId, message.id, secret), 200);
      const dataSource = testApp.app.get(DataSource);
      const { database } = testApp.config;
      // PostgreSQL keeps the old row version until vacuum removes it: only SQLite's file is read.
      const fileHolds = async (text: string) => {
        if (database.type !== 'sqlite') {
          return undefined;
        }
        await dataSource.query('PRAGMA wal_checkpoint(TRUNCATE)');
        return readFileSync(database.path).includes(text);
      };
      const onSqlite = database.type === 'sqlite';
      expect(await fileHolds(secret)).toBe(onSqlite ? true : undefined);

      await expectStatus(remove(testApp, alice, roomId, message.id), 200);

      const sql =
        'SELECT "id", "body", "deletedAt" FROM "messages" WHERE "id" IN (?, ?) ORDER BY "seq"';
      const rows = await dataSource.query<{ id: string; body: string; deletedAt: unknown }[]>(
        onSqlite ? sql : toPostgresPlaceholders(sql),
        [message.id, edited.id],
      );
      expect(rows).toEqual([
        { id: message.id, body: '', deletedAt: expect.anything() },
        { id: edited.id, body: '', deletedAt: null },
      ]);
      expect(await fileHolds(secret)).toBe(onSqlite ? false : undefined);
    });
  });

  describe('over WebSocket', () => {
    it('edit and delete frames are acknowledged; joined members get `edited` and `deleted` live', async () => {
      const { roomId, message } = await roomWithMessage();
      const writer = await sockets.connect(testApp, alice);
      const reader = await sockets.connect(testApp, bob);
      await reader.request('join', { roomId }, 'joined');

      writer.send('edit', { roomId, messageId: message.id, body: 'live edit', clientMsgId: 'e1' });
      const editAck = (await writer.next('ack')).data;
      writer.send('delete', { roomId, messageId: message.id });
      const deleteAck = (await writer.next('ack')).data;

      expect(editAck).toEqual({ roomId, id: expect.any(String), seq: 2, clientMsgId: 'e1' });
      expect(deleteAck).toEqual({ roomId, id: expect.any(String), seq: 3, clientMsgId: null });
      expect((await reader.next('edited')).data).toMatchObject({
        id: editAck.id,
        seq: 2,
        kind: 'edit',
        messageId: message.id,
        body: 'live edit',
      });
      expect((await reader.next('deleted')).data).toMatchObject({
        id: deleteAck.id,
        seq: 3,
        kind: 'delete',
        messageId: message.id,
        body: '',
      });
      expect(reader.received('message')).toEqual([]);
    });

    it('refuses with the REST codes: forbidden, conflict, not_found', async () => {
      const { roomId, message } = await roomWithMessage();
      const socket = await sockets.connect(testApp, bob);

      socket.send('edit', { roomId, messageId: message.id, body: 'x' }, 'a');
      expect((await socket.next('error')).data).toMatchObject({ code: 'forbidden', ref: 'a' });
      socket.send('delete', { roomId, messageId: MISSING_ID }, 'b');
      expect((await socket.next('error')).data).toMatchObject({ code: 'not_found', ref: 'b' });
      await expectStatus(remove(testApp, alice, roomId, message.id), 200);
      const own = await postMessage(testApp, bob, roomId);
      socket.send('delete', { roomId, messageId: own.id }, 'c');
      expect((await socket.next('ack')).data).toMatchObject({ seq: 4 });
      socket.send('edit', { roomId, messageId: own.id, body: 'x' }, 'd');
      expect((await socket.next('error')).data).toMatchObject({ code: 'conflict', ref: 'd' });
    });

    it('RealtimeClient: an edit and a delete made while it was away are replayed by sync, in order, once', async () => {
      const { roomId, message } = await roomWithMessage();
      let away = false;
      const opened: WebSocket[] = [];
      // Keeps the sockets it opens, so that the test can cut the connection.
      class TrackedWebSocket extends CheckedWebSocket {
        constructor(url: string, options?: WebSocket.ClientOptions) {
          super(url, options);
          opened.push(this);
        }
      }
      const client = await RealtimeClient.connect({
        baseUrl: testApp.url,
        // While away, a token the server refuses: the client keeps trying.
        accessToken: () => (away ? 'not-a-token' : bob.accessToken),
        WebSocket: TrackedWebSocket,
        reconnect: { initialDelayMs: 20, maxDelayMs: 50 },
      });
      const seen: RealtimeMessage[] = [];
      const events: string[] = [];
      client.on('message', (entry) => seen.push(entry));
      client.on('edited', (entry) => seen.push(entry));
      client.on('deleted', (entry) => seen.push(entry));
      client.on('reconnected', () => events.push('reconnected'));
      try {
        await client.join(roomId);
        const live = await expectStatus(edit(testApp, alice, roomId, message.id, 'live'), 200);
        await waitUntil(() => seen.length === 1, 5000, 'the live edit');

        away = true;
        opened.at(-1)!.terminate();
        await waitUntil(() => !client.connected, 5000, 'the disconnect');
        const second = await postMessage(testApp, alice, roomId);
        const edited = await expectStatus(edit(testApp, alice, roomId, second.id, 'v2'), 200);
        const deleted = await expectStatus(remove(testApp, owner, roomId, message.id), 200);
        away = false;
        await waitUntil(() => events.includes('reconnected'), 10_000, 'the reconnect');
        const after = await postMessage(testApp, alice, roomId);
        await waitUntil(() => seen.length === 5, 5000, 'every entry');
        await client.catchUp();

        expect(seen.map((entry) => [entry.seq, entry.kind, entry.id])).toEqual([
          [2, 'edit', live.id],
          [3, 'message', second.id],
          [4, 'edit', edited.id],
          [5, 'delete', deleted.id],
          [6, 'message', after.id],
        ]);
        // From sync, the message shows its current text.
        expect(seen[1].body).toBe('v2');
      } finally {
        client.close();
        await client.closed;
      }
    });
  });
});
