import { CloseCode, RealtimeMessage } from '@libs/client';
import { ConnectionRegistry } from '@app/realtime/connection-registry';
import request from 'supertest';
import { bearer, registerUser, RegisteredUser } from '@test/support/auth-helpers';
import { addMember, createRoom, joinRoom, postMessage } from '@test/support/room-helpers';
import { startTestApp, useTestApp } from '@test/support/test-app';
import { waitUntil } from '@test/support/wait-until';
import { useWsTestClients, WsTestClient } from '@test/support/ws-test-client';

describe('WebSocket gateway: rooms, messages and presence (e2e)', () => {
  const testApp = useTestApp({ environment: { WS_MESSAGE_RATE: '1000' } });
  const clients = useWsTestClients();
  const connect = (user: RegisteredUser) => clients.connect(testApp, user);

  it('join, send and receive: ack after the commit, the message to every joined member', async () => {
    const alice = await registerUser(testApp);
    const bob = await registerUser(testApp);
    const room = await createRoom(testApp, alice);
    const aliceSocket = await connect(alice);
    const bobSocket = await connect(bob);

    expect((await aliceSocket.request('join', { roomId: room.id }, 'joined')).data).toEqual({
      roomId: room.id,
      lastSeq: 0,
    });
    await bobSocket.request('join', { roomId: room.id }, 'joined');

    aliceSocket.send('send', { roomId: room.id, body: 'hello', clientMsgId: 'c-1' }, 'ref-1');
    const ack = await aliceSocket.next('ack');

    expect(ack).toEqual({
      event: 'ack',
      data: { roomId: room.id, id: expect.any(String), seq: 1, clientMsgId: 'c-1' },
      ref: 'ref-1',
    });
    const received = await bobSocket.next('message');
    expect(received.data).toMatchObject({
      id: ack.data.id,
      roomId: room.id,
      seq: 1,
      senderId: alice.id,
      body: 'hello',
      clientMsgId: 'c-1',
    });
    expect((await aliceSocket.next('message')).data.id).toBe(ack.data.id);
  });

  it('a retry with the same clientMsgId gets the first ack back and stores one message', async () => {
    const alice = await registerUser(testApp);
    const room = await createRoom(testApp, alice);
    const socket = await connect(alice);

    const first = await socket.request(
      'send',
      { roomId: room.id, body: 'x', clientMsgId: 'k' },
      'ack',
    );
    const retry = await socket.request(
      'send',
      { roomId: room.id, body: 'x', clientMsgId: 'k' },
      'ack',
    );

    expect(retry.data).toEqual(first.data);
    const history = await socket.request('sync', { roomId: room.id, afterSeq: 0 }, 'history');
    expect(history.data.messages).toHaveLength(1);
  });

  it('delivers messages posted over REST live too', async () => {
    const alice = await registerUser(testApp);
    const room = await createRoom(testApp, alice);
    const socket = await connect(alice);
    await socket.request('join', { roomId: room.id }, 'joined');

    const posted = await postMessage(testApp, alice, room.id, { body: 'from REST' });

    expect((await socket.next('message')).data).toMatchObject({ id: posted.id, body: 'from REST' });
  });

  it('refuses a private room to a non-member as if it did not exist, and a send without membership', async () => {
    const owner = await registerUser(testApp);
    const stranger = await registerUser(testApp);
    const privateRoom = await createRoom(testApp, owner, { visibility: 'private' });
    const publicRoom = await createRoom(testApp, owner);
    const socket = await connect(stranger);

    const joinPrivate = await socket.request('join', { roomId: privateRoom.id }, 'error');
    expect(joinPrivate.data.code).toBe('not_found');

    const sendPublic = await socket.request('send', { roomId: publicRoom.id, body: 'hi' }, 'error');
    expect(sendPublic.data.code).toBe('not_member');

    socket.sendUnchecked({ event: 'send', data: { roomId: publicRoom.id, body: '' } });
    const invalid = await socket.next('error');
    expect(invalid.data.code).toBe('invalid_data');
  });

  it('a member added to a private room can join it', async () => {
    const owner = await registerUser(testApp);
    const guest = await registerUser(testApp);
    const room = await createRoom(testApp, owner, { visibility: 'private' });
    await addMember(testApp, owner, room.id, guest.id);
    const socket = await connect(guest);

    expect((await socket.request('join', { roomId: room.id }, 'joined')).data.roomId).toBe(room.id);
  });

  it('a private message reaches every connection of both users, without a join', async () => {
    const alice = await registerUser(testApp);
    const bob = await registerUser(testApp);
    const aliceSocket = await connect(alice);
    const aliceOtherTab = await connect(alice);
    const bobPhone = await connect(bob);
    const bobLaptop = await connect(bob);

    const ack = await aliceSocket.request('dm', { userId: bob.id, body: 'psst' }, 'ack');

    for (const socket of [bobPhone, bobLaptop, aliceSocket, aliceOtherTab]) {
      const message = await socket.next('message');
      expect(message.data).toMatchObject({
        id: ack.data.id,
        roomId: ack.data.roomId,
        body: 'psst',
      });
    }
    // Each connection gets it once: the next message any of them sees is the next one sent.
    const next = await aliceSocket.request('dm', { userId: bob.id, body: 'again' }, 'ack');
    for (const socket of [bobPhone, bobLaptop, aliceSocket, aliceOtherTab]) {
      expect((await socket.next('message')).data.id).toBe(next.data.id);
    }
  });

  it('after a disconnect, sync returns each missed message exactly once', async () => {
    const alice = await registerUser(testApp);
    const bob = await registerUser(testApp);
    const room = await createRoom(testApp, alice);
    const bobSocket = await connect(bob);
    const { data: joined } = await bobSocket.request('join', { roomId: room.id }, 'joined');
    await postMessage(testApp, alice, room.id, { body: 'seen' });
    const seen = (await bobSocket.next('message')).data;
    await bobSocket.closeAndWait();

    for (let i = 0; i < 5; i++) {
      await postMessage(testApp, alice, room.id, { body: `missed ${i}` });
    }

    const back = await connect(bob);
    await back.request('join', { roomId: room.id }, 'joined');
    const history = await back.request('sync', { roomId: room.id, afterSeq: seen.seq }, 'history');

    expect(joined.lastSeq).toBe(0);
    expect(history.data.hasMore).toBe(false);
    expect(history.data.messages.map((message: RealtimeMessage) => message.seq)).toEqual([
      2, 3, 4, 5, 6,
    ]);
    expect(history.data.messages.map((message: RealtimeMessage) => message.body)).toEqual([
      'missed 0',
      'missed 1',
      'missed 2',
      'missed 3',
      'missed 4',
    ]);

    const paged = await back.request('sync', { roomId: room.id, afterSeq: 1, limit: 2 }, 'history');
    expect(paged.data.messages.map((message: RealtimeMessage) => message.seq)).toEqual([2, 3]);
    expect(paged.data.hasMore).toBe(true);
  });

  it('broadcasts to 200 members', async () => {
    const owner = await registerUser(testApp);
    const room = await createRoom(testApp, owner);
    const members = await Promise.all(Array.from({ length: 200 }, () => registerUser(testApp)));
    const sockets = await Promise.all(members.map(connect));
    await Promise.all(
      sockets.map((socket) => socket.request('join', { roomId: room.id }, 'joined')),
    );

    const posted = await postMessage(testApp, owner, room.id, { body: 'to everyone' });

    const received = await Promise.all(sockets.map((socket) => socket.next('message', 10_000)));
    expect(received.every((frame) => frame.data.id === posted.id)).toBe(true);
  }, 60_000);

  it('announces presence: online on the first join, offline when the last connection goes', async () => {
    const alice = await registerUser(testApp);
    const bob = await registerUser(testApp);
    const room = await createRoom(testApp, alice);
    const watcher = await connect(alice);
    await watcher.request('join', { roomId: room.id }, 'joined');
    // The watcher's own arrival comes first.
    expect((await watcher.next('presence')).data).toMatchObject({
      userId: alice.id,
      status: 'online',
    });
    const bobOne = await connect(bob);
    const bobTwo = await connect(bob);

    await bobOne.request('join', { roomId: room.id }, 'joined');
    expect((await watcher.next('presence')).data).toEqual({
      roomId: room.id,
      userId: bob.id,
      status: 'online',
    });
    await bobTwo.request('join', { roomId: room.id }, 'joined');

    // Bob still has a connection in the room: his first one going says nothing…
    await bobOne.closeAndWait();
    await bobTwo.request('leave', { roomId: room.id }, 'left');
    // …and his last one leaving says offline, once: Carol's arrival comes after either.
    const carol = await registerUser(testApp);
    await (await connect(carol)).request('join', { roomId: room.id }, 'joined');
    expect(
      await watcher.takeThrough('presence', (presence) => presence.userId === carol.id),
    ).toEqual([
      { roomId: room.id, userId: bob.id, status: 'offline' },
      { roomId: room.id, userId: carol.id, status: 'online' },
    ]);
  });

  it('leaving over REST, or the room being deleted, ends live delivery with a left frame', async () => {
    const owner = await registerUser(testApp);
    const member = await registerUser(testApp);
    const room = await createRoom(testApp, owner, { visibility: 'private' });
    await addMember(testApp, owner, room.id, member.id);
    const memberSocket = await connect(member);
    const ownerSocket = await connect(owner);
    await memberSocket.request('join', { roomId: room.id }, 'joined');
    await ownerSocket.request('join', { roomId: room.id }, 'joined');

    await request(testApp.server)
      .delete(`/api/rooms/${room.id}/members/me`)
      .set(bearer(member.accessToken))
      .expect(204);
    expect((await memberSocket.next('left')).data).toEqual({ roomId: room.id });
    const membersOnly = await postMessage(testApp, owner, room.id, { body: 'members only' });
    expect((await ownerSocket.next('message')).data.id).toBe(membersOnly.id);
    // A private message, sent after: the first message the member's connection sees.
    const control = await ownerSocket.request(
      'dm',
      { userId: member.id, body: 'still here?' },
      'ack',
    );
    expect((await memberSocket.next('message')).data.id).toBe(control.data.id);

    await request(testApp.server)
      .delete(`/api/rooms/${room.id}`)
      .set(bearer(owner.accessToken))
      .expect(204);
    expect((await ownerSocket.next('left')).data).toEqual({ roomId: room.id });
  });

  it('a left connection gets no more messages of the room', async () => {
    const alice = await registerUser(testApp);
    const room = await createRoom(testApp, alice);
    const stillJoined = await createRoom(testApp, alice);
    const socket = await connect(alice);
    await socket.request('join', { roomId: room.id }, 'joined');
    await socket.request('join', { roomId: stillJoined.id }, 'joined');
    await socket.request('leave', { roomId: room.id }, 'left');

    await postMessage(testApp, alice, room.id, { body: 'after leaving' });
    const control = await postMessage(testApp, alice, stillJoined.id, { body: 'still joined' });

    // Posted after the other, to a room the connection is still in: the first message it gets.
    expect((await socket.next('message')).data).toMatchObject({ id: control.id });
  });
});

describe('WebSocket gateway: slow consumers (e2e)', () => {
  it('drops a client that never reads, instead of buffering without bound', async () => {
    const testApp = await startTestApp({
      environment: { WS_MAX_BUFFERED: String(64 * 1024) },
    });
    try {
      const alice = await registerUser(testApp);
      const bob = await registerUser(testApp);
      const room = await createRoom(testApp, alice);
      await joinRoom(testApp, bob, room.id);
      const reader = await WsTestClient.connect(testApp.url, { token: bob.accessToken });
      const stalled = await WsTestClient.connect(testApp.url, { token: alice.accessToken });
      await reader.request('join', { roomId: room.id }, 'joined');
      await stalled.request('join', { roomId: room.id }, 'joined');
      const [stalledOnServer] = testApp.app.get(ConnectionRegistry).connectionsOf(alice.id);
      // Stop reading: the kernel's buffers fill, then the server's queue for this socket grows.
      (stalled.socket as unknown as { _socket: { pause(): void } })._socket.pause();

      // 12 KB a message (3-byte characters); bounded, whatever happens.
      const body = '€'.repeat(4000);
      let posted = 0;
      while (stalledOnServer.isOpen && posted < 3000) {
        await postMessage(testApp, alice, room.id, { body });
        posted += 1;
      }

      expect(stalledOnServer.isOpen).toBe(false);
      await waitUntil(
        () => reader.frames.filter((frame) => frame.event === 'message').length === posted,
        10_000,
        'the reader to receive every message',
      );
      (stalled.socket as unknown as { _socket: { resume(): void } })._socket.resume();
      expect([CloseCode.TryAgainLater, 1006]).toContain((await stalled.closed).code);
      await reader.closeAndWait();
    } finally {
      await testApp.close();
    }
  }, 60_000);
});
