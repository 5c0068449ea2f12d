import request from 'supertest';
import { MISSING_ID } from '@test/factories/ids';
import { InProcessMessageEvents } from '@app/messages/message-events';
import { MessageResponseDto } from '@app/messages/messages.dto';
import { aMessage } from '@test/factories/room.factory';
import { bearer, RegisteredUser, registerUser } from '@test/support/auth-helpers';
import {
  addMember,
  createRoom,
  joinRoom,
  MessageBody,
  postMessage,
  readHistory,
} from '@test/support/room-helpers';
import { useTestApp } from '@test/support/test-app';

describe('room messages (e2e)', () => {
  const testApp = useTestApp();
  let alice: RegisteredUser;
  let bob: RegisteredUser;

  beforeAll(async () => {
    alice = await registerUser(testApp);
    bob = await registerUser(testApp);
  });

  const http = () => request(testApp.server);

  /** The distinct fields a 400 names. */
  const fieldsOf = (body: { details: { field: string }[] }) => [
    ...new Set(body.details.map((detail) => detail.field)),
  ];

  const withoutRequestId = (body: Record<string, unknown>) => {
    const { requestId: _requestId, ...rest } = body;
    return rest;
  };

  describe('POST /api/rooms/:id/messages', () => {
    it('stores a message with the room’s next seq and answers 201 with it', async () => {
      const room = await createRoom(testApp, alice);

      const response = await http()
        .post(`/api/rooms/${room.id}/messages`)
        .set(bearer(alice.accessToken))
        .send({ body: 'hello', clientMsgId: 'first' })
        .expect(201);

      expect(response.body).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        roomId: room.id,
        seq: 1,
        senderId: alice.id,
        body: 'hello',
        clientMsgId: 'first',
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        kind: 'message',
        messageId: null,
        editedAt: null,
        deletedAt: null,
      });
      const second = await postMessage(testApp, alice, room.id, { clientMsgId: undefined });
      expect(second).toMatchObject({ seq: 2, clientMsgId: null });
      expect(await readHistory(testApp, alice, room.id)).toEqual([response.body, second]);
    });

    it('403 not_a_member for a public room the sender has not joined; 201 after joining', async () => {
      const room = await createRoom(testApp, alice);

      const response = await http()
        .post(`/api/rooms/${room.id}/messages`)
        .set(bearer(bob.accessToken))
        .send(aMessage())
        .expect(403);
      expect(response.body).toMatchObject({ statusCode: 403, code: 'not_a_member' });

      await joinRoom(testApp, bob, room.id);
      const message = await postMessage(testApp, bob, room.id);
      expect(message.seq).toBe(1);
    });

    it('404 for a private room the sender is not in, exactly as for a missing room', async () => {
      const room = await createRoom(testApp, alice, { visibility: 'private' });

      const hidden = await http()
        .post(`/api/rooms/${room.id}/messages`)
        .set(bearer(bob.accessToken))
        .send(aMessage())
        .expect(404);
      const missing = await http()
        .post(`/api/rooms/${MISSING_ID}/messages`)
        .set(bearer(bob.accessToken))
        .send(aMessage())
        .expect(404);
      expect(withoutRequestId(hidden.body)).toEqual(withoutRequestId(missing.body));
      expect(await readHistory(testApp, alice, room.id)).toEqual([]);
    });

    it('after leaving, posting is refused', async () => {
      const room = await createRoom(testApp, alice, { visibility: 'private' });
      await addMember(testApp, alice, room.id, bob.id);
      await postMessage(testApp, bob, room.id);
      await http()
        .delete(`/api/rooms/${room.id}/members/me`)
        .set(bearer(bob.accessToken))
        .expect(204);

      await http()
        .post(`/api/rooms/${room.id}/messages`)
        .set(bearer(bob.accessToken))
        .send(aMessage())
        .expect(404);
    });

    describe('body', () => {
      it.each([
        ['1 character', 'x'],
        ['4000 characters', 'x'.repeat(4000)],
        ['4000 characters outside the BMP', '😀'.repeat(4000)],
      ])('accepts %s', async (_case, body) => {
        const room = await createRoom(testApp, alice);

        const message = await postMessage(testApp, alice, room.id, { body });

        expect(message.body).toBe(body);
      });

      it.each([
        ['an empty body', { body: '' }, 'body'],
        ['4001 characters', { body: 'x'.repeat(4001) }, 'body'],
        ['no body', { clientMsgId: 'x' }, 'body'],
        ['a body that is not a string', { body: 42 }, 'body'],
        ['an empty clientMsgId', { body: 'x', clientMsgId: '' }, 'clientMsgId'],
        [
          'a clientMsgId over 64 characters',
          { body: 'x', clientMsgId: 'c'.repeat(65) },
          'clientMsgId',
        ],
        ['an unknown field', { body: 'x', seq: 7 }, 'seq'],
      ])('400 for %s', async (_case, payload, field) => {
        const room = await createRoom(testApp, alice);

        const response = await http()
          .post(`/api/rooms/${room.id}/messages`)
          .set(bearer(alice.accessToken))
          .send(payload)
          .expect(400);

        expect(fieldsOf(response.body)).toEqual([field]);
        expect(await readHistory(testApp, alice, room.id)).toEqual([]);
      });
    });

    describe('clientMsgId', () => {
      it('a retry returns the first message and stores nothing', async () => {
        const room = await createRoom(testApp, alice);
        const first = await postMessage(testApp, alice, room.id, {
          body: 'once',
          clientMsgId: 'retry-me',
        });

        const retry = await postMessage(testApp, alice, room.id, {
          body: 'once, again',
          clientMsgId: 'retry-me',
        });

        expect(retry).toEqual(first);
        const next = await postMessage(testApp, alice, room.id);
        expect(next.seq).toBe(2);
        expect(await readHistory(testApp, alice, room.id)).toEqual([first, next]);
      });

      it('is per sender and per room', async () => {
        const room = await createRoom(testApp, alice);
        const otherRoom = await createRoom(testApp, alice);
        await joinRoom(testApp, bob, room.id);

        const mine = await postMessage(testApp, alice, room.id, { clientMsgId: 'same' });
        const bobs = await postMessage(testApp, bob, room.id, { clientMsgId: 'same' });
        const elsewhere = await postMessage(testApp, alice, otherRoom.id, { clientMsgId: 'same' });

        expect(new Set([mine.id, bobs.id, elsewhere.id]).size).toBe(3);
        expect([mine.seq, bobs.seq, elsewhere.seq]).toEqual([1, 2, 1]);
      });

      it('10 simultaneous posts with one clientMsgId store one message, and all get it', async () => {
        const room = await createRoom(testApp, alice);

        const responses = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            http()
              .post(`/api/rooms/${room.id}/messages`)
              .set(bearer(alice.accessToken))
              .send({ body: `attempt ${i}`, clientMsgId: 'at-once' }),
          ),
        );

        expect(responses.map((response) => response.status)).toEqual(Array(10).fill(201));
        const ids = new Set(
          responses.map((response) => `${response.body.id}#${response.body.seq}`),
        );
        expect(ids.size).toBe(1);
        const history = await readHistory(testApp, alice, room.id);
        expect(history).toHaveLength(1);
        expect(history[0]).toEqual(responses[0].body);
      });
    });

    it('8 concurrent writers × 25 messages get seq 1..200, each writer’s in its own order', async () => {
      const room = await createRoom(testApp, alice);
      const writers = await Promise.all(Array.from({ length: 8 }, () => registerUser(testApp)));
      await Promise.all(writers.map((writer) => joinRoom(testApp, writer, room.id)));

      const acknowledged = await Promise.all(
        writers.map(async (writer, w) => {
          const mine: MessageBody[] = [];
          for (let i = 0; i < 25; i++) {
            mine.push(
              await postMessage(testApp, writer, room.id, {
                body: `w${w} m${i}`,
                clientMsgId: `w${w}-${i}`,
              }),
            );
          }
          return mine;
        }),
      );

      for (const mine of acknowledged) {
        const seqs = mine.map((message) => message.seq);
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      }
      const history = await readHistory(testApp, alice, room.id);
      expect(history.map((message) => message.seq)).toEqual(
        Array.from({ length: 200 }, (_, i) => i + 1),
      );
      expect(new Set(history.map((message) => message.id))).toEqual(
        new Set(acknowledged.flat().map((message) => message.id)),
      );
    });

    it('publishes each stored message once through MessageEvents, after the commit', async () => {
      const room = await createRoom(testApp, alice);
      const events = testApp.app.get(InProcessMessageEvents);
      const published: MessageResponseDto[] = [];
      const unsubscribe = events.subscribe(({ message }) => published.push(message));
      try {
        const message = await postMessage(testApp, alice, room.id, { clientMsgId: 'publish-once' });
        await postMessage(testApp, alice, room.id, { clientMsgId: 'publish-once' });

        expect(published.filter((event) => event.roomId === room.id)).toEqual([message]);
      } finally {
        unsubscribe();
      }
    });
  });

  describe('GET /api/rooms/:id/messages', () => {
    let room: { id: string };
    let all: MessageBody[];

    beforeAll(async () => {
      room = await createRoom(testApp, alice);
      all = [];
      for (let i = 0; i < 12; i++) {
        all.push(await postMessage(testApp, alice, room.id, { body: `m${i + 1}` }));
      }
    });

    const history = (query: Record<string, string | number>, user = alice) =>
      http().get(`/api/rooms/${room.id}/messages`).query(query).set(bearer(user.accessToken));

    const seqsOf = (body: { items: MessageBody[] }) => body.items.map((message) => message.seq);

    it('without after or before: oldest first from the start, 50 at most by default', async () => {
      const response = await history({}).expect(200);

      expect(response.body).toEqual({ items: all, nextCursor: null });
    });

    it('after: the messages with a greater seq, oldest first, and a cursor to go on', async () => {
      const first = await history({ after: 3, limit: 4 }).expect(200);
      expect(seqsOf(first.body)).toEqual([4, 5, 6, 7]);

      const second = await history({ cursor: first.body.nextCursor, limit: 4 }).expect(200);
      expect(seqsOf(second.body)).toEqual([8, 9, 10, 11]);

      const last = await history({ cursor: second.body.nextCursor, limit: 4 }).expect(200);
      expect(seqsOf(last.body)).toEqual([12]);
      expect(last.body.nextCursor).toBeNull();
    });

    it('before: the newest messages below it, oldest first, and a cursor further back', async () => {
      const first = await history({ before: 11, limit: 4 }).expect(200);
      expect(seqsOf(first.body)).toEqual([7, 8, 9, 10]);

      const second = await history({ cursor: first.body.nextCursor, limit: 4 }).expect(200);
      expect(seqsOf(second.body)).toEqual([3, 4, 5, 6]);

      const last = await history({ cursor: second.body.nextCursor, limit: 4 }).expect(200);
      expect(seqsOf(last.body)).toEqual([1, 2]);
      expect(last.body.nextCursor).toBeNull();
    });

    it('after and before: the range between, page by page', async () => {
      const first = await history({ after: 2, before: 9, limit: 3 }).expect(200);
      expect(seqsOf(first.body)).toEqual([3, 4, 5]);

      const second = await history({ cursor: first.body.nextCursor, limit: 3 }).expect(200);
      expect(seqsOf(second.body)).toEqual([6, 7, 8]);
      expect(second.body.nextCursor).toBeNull();
    });

    it('after the newest message: an empty page without a cursor', async () => {
      const response = await history({ after: 12 }).expect(200);

      expect(response.body).toEqual({ items: [], nextCursor: null });
    });

    it('limit=200 is the most; 0, 201 and non-numbers are 400', async () => {
      await history({ limit: 200 }).expect(200);
      for (const limit of ['0', '201', 'many']) {
        const response = await history({ limit }).expect(400);
        expect(fieldsOf(response.body)).toEqual(['limit']);
      }
    });

    it.each([
      ['after=-1', { after: -1 }, 'after'],
      ['before=0', { before: 0 }, 'before'],
      ['after=abc', { after: 'abc' }, 'after'],
      ['a cursor with after', { after: 1, cursor: 'eyJ9' }, 'cursor'],
      ['a broken cursor', { cursor: 'not-a-cursor' }, 'cursor'],
    ])('400 for %s', async (_case, query, field) => {
      const response = await history(query).expect(400);

      expect(fieldsOf(response.body)).toEqual([field]);
    });

    it('a public room’s history is readable by non-members', async () => {
      const response = await history({ limit: 2 }, bob).expect(200);

      expect(seqsOf(response.body)).toEqual([1, 2]);
    });

    it('a private room’s history is 404 to non-members, exactly as a missing room’s', async () => {
      const hiddenRoom = await createRoom(testApp, alice, { visibility: 'private' });
      await postMessage(testApp, alice, hiddenRoom.id);

      const hidden = await http()
        .get(`/api/rooms/${hiddenRoom.id}/messages`)
        .set(bearer(bob.accessToken))
        .expect(404);
      const missing = await http()
        .get(`/api/rooms/${MISSING_ID}/messages`)
        .set(bearer(bob.accessToken))
        .expect(404);
      expect(withoutRequestId(hidden.body)).toEqual(withoutRequestId(missing.body));

      await addMember(testApp, alice, hiddenRoom.id, bob.id);
      expect(await readHistory(testApp, bob, hiddenRoom.id)).toHaveLength(1);
    });
  });
});
