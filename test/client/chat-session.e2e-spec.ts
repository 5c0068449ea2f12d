import {
  banRoomUser,
  createClient,
  createConfig,
  createRoom,
  getRoom,
  RealtimeClient,
  RealtimeMessage,
  ServerEventMap,
  transferRoomOwnership,
  unbanRoomUser,
} from '@libs/client';
import { registerUser } from '@test/support/auth-helpers';
import { CheckedWebSocket } from '@test/support/checked-web-socket';
import { useTestApp } from '@test/support/test-app';
import { waitUntil } from '@test/support/wait-until';

/**
 * The README's chat session ("The typed client"), step by step through libs/client: typing, read
 * state, an edit and a delete, a ban and a handover, as a chat product would use them.
 */
describe('a chat session through the typed clients (e2e)', () => {
  const testApp = useTestApp();

  it('typing, read state, edit, delete, ban, unban and handover', async () => {
    const alice = await registerUser(testApp);
    const bob = await registerUser(testApp);
    const api = (token: string) =>
      createClient(createConfig({ baseUrl: testApp.url, auth: () => token }));
    const aliceApi = api(alice.accessToken);
    const bobApi = api(bob.accessToken);
    const connect = (accessToken: string) =>
      RealtimeClient.connect({ baseUrl: testApp.url, accessToken, WebSocket: CheckedWebSocket });
    const aliceSocket = await connect(alice.accessToken);
    const bobSocket = await connect(bob.accessToken);
    try {
      const seen = {
        typing: [] as ServerEventMap['typing'][],
        read: [] as ServerEventMap['read'][],
        edited: [] as RealtimeMessage[],
        deleted: [] as RealtimeMessage[],
        left: [] as ServerEventMap['left'][],
        messages: [] as RealtimeMessage[],
      };
      aliceSocket.on('typing', (typing) => seen.typing.push(typing));
      aliceSocket.on('read', (read) => seen.read.push(read));
      bobSocket.on('message', (message) => seen.messages.push(message));
      bobSocket.on('edited', (edit) => seen.edited.push(edit));
      bobSocket.on('deleted', (deletion) => seen.deleted.push(deletion));
      bobSocket.on('left', (left) => seen.left.push(left));

      // --- the README's session, from here ---
      const { data: room } = await createRoom({
        client: aliceApi,
        throwOnError: true,
        body: { name: 'general', visibility: 'public' },
      });
      await aliceSocket.join(room.id);
      await bobSocket.join(room.id);

      bobSocket.typing(room.id); // Alice: typing {roomId, userId: bob}
      const hello = await aliceSocket.send(room.id, 'helo');
      await aliceSocket.edit(room.id, hello.id, 'hello'); // Bob: edited {seq: 2, messageId, body}

      const unread = async () =>
        (await getRoom({ client: bobApi, throwOnError: true, path: { id: room.id } })).data
          .unreadCount;
      expect(await unread()).toBe(2); // the message and its edit
      bobSocket.markRead(room.id, 2); // Alice: read {roomId, userId: bob, seq: 2}
      await waitUntil(() => seen.read.length === 1, 5000, 'the read event');
      expect(await unread()).toBe(0);

      await aliceSocket.delete(room.id, hello.id); // Bob: deleted {seq: 3, messageId}
      await banRoomUser({
        client: aliceApi,
        throwOnError: true,
        path: { id: room.id, userId: bob.id },
      });
      await waitUntil(() => seen.left.length === 1, 5000, 'Bob taken out of the room'); // Bob: left
      await expect(bobSocket.join(room.id)).rejects.toMatchObject({ code: 'forbidden' });
      await unbanRoomUser({
        client: aliceApi,
        throwOnError: true,
        path: { id: room.id, userId: bob.id },
      });
      await bobSocket.join(room.id);
      await transferRoomOwnership({
        client: aliceApi,
        throwOnError: true,
        path: { id: room.id },
        body: { userId: bob.id },
      });
      // --- to here ---

      await waitUntil(() => seen.deleted.length === 1, 5000, 'the delete');
      expect(seen.typing).toEqual([{ roomId: room.id, userId: bob.id }]);
      expect(seen.read).toEqual([{ roomId: room.id, userId: bob.id, seq: 2 }]);
      expect(seen.messages.map((message) => message.seq)).toEqual([1]);
      expect(seen.edited).toMatchObject([
        { seq: 2, kind: 'edit', messageId: hello.id, body: 'hello' },
      ]);
      expect(seen.deleted).toMatchObject([{ seq: 3, kind: 'delete', messageId: hello.id }]);
      expect(seen.left).toEqual([{ roomId: room.id }]);
      const { data: handed } = await getRoom({
        client: bobApi,
        throwOnError: true,
        path: { id: room.id },
      });
      expect(handed.ownerId).toBe(bob.id);
    } finally {
      aliceSocket.close();
      bobSocket.close();
      await Promise.all([aliceSocket.closed, bobSocket.closed]);
    }
  });
});
