import { deleteRoomMessage, editRoomMessage } from '@libs/client';
import { apiClient, expectStatus, HttpTarget } from '@test/support/api-client';
import { RegisteredUser, registerUser } from '@test/support/auth-helpers';
import { useProcessFleet } from '@test/support/process-fleet';
import {
  createRoom,
  joinRoom,
  MessageBody,
  postMessage,
  readHistory,
} from '@test/support/room-helpers';
import type { ServerProcess } from '@test/support/server-process';

const MESSAGES_BEFORE = 10;
const CONCURRENT_POSTS = 40;
const CONCURRENT_EDITS = 30;
const CONCURRENT_DELETES = 4;

function edit(
  target: HttpTarget,
  editor: RegisteredUser,
  roomId: string,
  messageId: string,
  body: string,
) {
  return expectStatus(
    editRoomMessage({
      client: apiClient(target, editor.accessToken),
      path: { id: roomId, messageId },
      body: { body },
    }),
    200,
  );
}

function remove(target: HttpTarget, caller: RegisteredUser, roomId: string, messageId: string) {
  return expectStatus(
    deleteRoomMessage({
      client: apiClient(target, caller.accessToken),
      path: { id: roomId, messageId },
    }),
    200,
  );
}

/**
 * Edits and deletes on PostgreSQL, with two server processes on one database and one Redis: they
 * reach the other instance's members live, and take seqs from the same sequence as concurrent
 * sends on both instances without a gap or a repeat.
 */
describe('message edits and deletes across two instances (services)', () => {
  const fleet = useProcessFleet(2, { WS_MESSAGE_RATE: '1000' });
  let instanceA: ServerProcess;
  let instanceB: ServerProcess;

  beforeAll(() => {
    [instanceA, instanceB] = fleet.instances;
  });

  it('an edit and a delete made on A reach a member joined on B live, as `edited` and `deleted`', async () => {
    const owner = await registerUser(instanceA);
    const alice = await registerUser(instanceA);
    const bob = await registerUser(instanceB);
    const room = await createRoom(instanceA, owner);
    await joinRoom(instanceA, alice, room.id);
    const aliceOnA = await fleet.connect(instanceA, alice);
    const bobOnB = await fleet.connect(instanceB, bob);
    await aliceOnA.request('join', { roomId: room.id }, 'joined');
    await bobOnB.request('join', { roomId: room.id }, 'joined');
    const message = (await aliceOnA.request('send', { roomId: room.id, body: 'v1' }, 'ack')).data;
    expect((await bobOnB.next('message')).data.id).toBe(message.id);
    // Read on B before the changes: B's cached history must not outlive them.
    expect((await readHistory(instanceB, bob, room.id)).map((entry) => entry.body)).toEqual(['v1']);

    aliceOnA.send('edit', { roomId: room.id, messageId: message.id, body: 'v2' });
    const editAck = (await aliceOnA.next('ack')).data;
    const deleted = await remove(instanceA, owner, room.id, message.id);

    expect((await bobOnB.next('edited')).data).toMatchObject({
      id: editAck.id,
      seq: 2,
      kind: 'edit',
      messageId: message.id,
      senderId: alice.id,
      body: 'v2',
    });
    expect((await bobOnB.next('deleted')).data).toMatchObject({
      id: deleted.id,
      seq: 3,
      kind: 'delete',
      messageId: message.id,
      senderId: owner.id,
      body: '',
    });
    const history = await readHistory(instanceB, bob, room.id);
    expect(history.map((entry) => [entry.seq, entry.kind, entry.body])).toEqual([
      [1, 'message', ''],
      [2, 'edit', ''],
      [3, 'delete', ''],
    ]);
    expect(history[0].deletedAt).toBe(deleted.createdAt);
  });

  it('concurrent posts, edits and deletes on both instances leave seq 1..N with no gap and no repeat', async () => {
    const owner = await registerUser(instanceA);
    const alice = await registerUser(instanceA);
    const room = await createRoom(instanceA, owner);
    await joinRoom(instanceA, alice, room.id);
    const earlier: MessageBody[] = [];
    for (let i = 0; i < MESSAGES_BEFORE; i++) {
      earlier.push(await postMessage(instanceA, alice, room.id, { body: `earlier ${i}` }));
    }
    const on = (i: number) => (i % 2 === 0 ? instanceA : instanceB);
    // The last messages are deleted; the others are edited, several times each.
    const editable = earlier.slice(0, MESSAGES_BEFORE - CONCURRENT_DELETES);
    const doomed = earlier.slice(MESSAGES_BEFORE - CONCURRENT_DELETES);

    const results = await Promise.all([
      ...Array.from({ length: CONCURRENT_POSTS }, (_, i) =>
        postMessage(on(i), alice, room.id, { body: `concurrent ${i}` }),
      ),
      ...Array.from({ length: CONCURRENT_EDITS }, (_, i) =>
        edit(on(i + 1), alice, room.id, editable[i % editable.length].id, `edit ${i}`),
      ),
      ...doomed.map((message, i) => remove(on(i), owner, room.id, message.id)),
    ]);

    const total = MESSAGES_BEFORE + CONCURRENT_POSTS + CONCURRENT_EDITS + CONCURRENT_DELETES;
    const history = await readHistory(instanceB, owner, room.id);
    expect(history.map((entry) => entry.seq)).toEqual(
      Array.from({ length: total }, (_, i) => i + 1),
    );
    expect(new Set(results.map((entry) => entry.seq)).size).toBe(results.length);
    const kinds = history.map((entry) => entry.kind);
    expect(kinds.filter((kind) => kind === 'edit')).toHaveLength(CONCURRENT_EDITS);
    expect(kinds.filter((kind) => kind === 'delete')).toHaveLength(CONCURRENT_DELETES);
    // Each message shows the text of its last edit in seq order.
    for (const message of editable) {
      const edits = history.filter(
        (entry) => entry.kind === 'edit' && entry.messageId === message.id,
      );
      const current = history.find((entry) => entry.id === message.id)!;
      expect(current.body).toBe(edits.at(-1)!.body);
      expect(current.editedAt).toBe(edits.at(-1)!.createdAt);
    }
    for (const message of doomed) {
      expect(history.find((entry) => entry.id === message.id)).toMatchObject({ body: '' });
    }
  });
});
